#include "core/engine/device.h"

#include <torch/cuda.h>

#include "core/error.h"

namespace qlab {

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32") return c10::kFloat;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  if (name == "float16" || name == "fp16") return c10::kHalf;
  throw UsageError("unknown dtype '" + name + "' (expected float32, bfloat16 or float16)");
}

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) throw UsageError("device '" + name + "' requested but no CUDA device is available");
    try {
      return c10::Device(name);
    } catch (const c10::Error&) {   // "cuda:x"
    }
  }
  throw UsageError("unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace qlab
