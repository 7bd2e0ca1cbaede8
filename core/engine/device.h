// The spellings of a device and a dtype in studies and on the command line:
// "cpu" | "cuda" | "cuda:N" and "float32" | "bfloat16" | "float16" (and
// fp32, bf16, fp16). Small c10 headers, not LibTorch, so that the commands
// that only check these names compile without it.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace qlab {

// Throw UsageError on anything else, and on a CUDA device where none is available.
c10::ScalarType parse_dtype(const std::string& name);
c10::Device parse_device(const std::string& name);

}  // namespace qlab
