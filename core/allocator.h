// How the process's heap treats memory it frees: kept for reuse, not handed
// back to the kernel at every free.
//
// Why: LibTorch allocates CPU tensors with malloc, and glibc serves every
// block above its mmap threshold (128 KiB at start) with its own mmap and
// unmaps it at free. A training step of a small model then faults its
// activations' pages in afresh every time: `qlab testbed --size small` took
// 564k page faults and 20.5 s, and 32k faults and 14.4 s with the freed blocks
// kept (2-core machine, loaded). Results are unchanged: only where the bytes
// live differs.
#pragma once

namespace qlab {

// Blocks up to 32 MiB come from the heap and stay there when freed (up to
// 256 MiB of free space at the heap's top before it is trimmed). Call once,
// first thing in main.
void keep_freed_memory();

}  // namespace qlab
