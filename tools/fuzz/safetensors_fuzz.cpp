// libFuzzer target: any byte string given to the safetensors parser must either
// parse into tensors that lie inside the buffer, or raise UsageError. Any other
// exception, a crash, or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    qlab::SafetensorsHeader h = qlab::parse_safetensors(data, size, "fuzz.safetensors");
    uint64_t covered = 0;
    for (const auto& t : h.tensors) {
      // The parser's promise: tensors tile the buffer, in order, sized by shape.
      if (t.begin != covered || t.end < t.begin || h.data_start + t.end > size) __builtin_trap();
      if (uint64_t(t.numel()) * qlab::safetensors_dtype_size(t.dtype) != t.end - t.begin) __builtin_trap();
      covered = t.end;
    }
    if (h.data_start + covered != size) __builtin_trap();
  } catch (const qlab::UsageError&) {
  }
  return 0;
}
