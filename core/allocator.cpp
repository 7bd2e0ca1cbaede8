#include "core/allocator.h"

#include <malloc.h>

namespace qlab {

void keep_freed_memory() {
  // Setting either disables glibc's own adjustment of the thresholds, which
  // only raises the mmap threshold after the first large free.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace qlab
