// What a LibTorch caller of qlab's CUDA kernels hands them: the kernel's
// element type for a tensor (none for a dtype no kernel covers). Compiled
// only where the kernels are (QLAB_CUDA_KERNELS).
#pragma once
#include <torch/torch.h>

#include <optional>

#include "core/quant/cuda/fake_quant_kernel.h"

namespace qlab::cuda {

inline std::optional<Dtype> kernel_dtype(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return Dtype::Float32;
    case torch::kFloat16: return Dtype::Float16;
    case torch::kBFloat16: return Dtype::BFloat16;
    default: return std::nullopt;
  }
}

}  // namespace qlab::cuda
