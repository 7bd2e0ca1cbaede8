// What a LibTorch caller of qlab's CUDA kernels hands them: the kernel's
// element type for a tensor (none for a dtype no kernel covers) and a
// quantizer's grid constants. Compiled only where the kernels are
// (QLAB_CUDA_KERNELS).
#pragma once
#include <torch/torch.h>

#include <optional>

#include "core/quant/cuda/fake_quant_kernel.h"
#include "core/quant/quantizer.h"

namespace qlab::cuda {

inline std::optional<Dtype> kernel_dtype(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return Dtype::Float32;
    case torch::kFloat16: return Dtype::Float16;
    case torch::kBFloat16: return Dtype::BFloat16;
    default: return std::nullopt;
  }
}

// The constants of cfg's grid (no clip search: the kernels do not search),
// defined in quantizer.cpp beside the grid they restate.
QuantArgs quant_args(const QuantConfig& cfg);

}  // namespace qlab::cuda
