// The one place where LibTorch versions differ for qlab. Debian ships LibTorch
// 1.13 (CPU); the GPU machine runs 2.x. Everything version-dependent is
// decided here so that the rest of the code reads the same on both.
#pragma once
#include "core/tensor.h"
#include <torch/version.h>

// at::scaled_dot_product_attention (fused flash / memory-efficient kernels)
// appeared in LibTorch 2.0. Without it the model uses its plain math path.
#if TORCH_VERSION_MAJOR >= 2
#define QLAB_HAS_SDPA 1
#else
#define QLAB_HAS_SDPA 0
#endif

// scaled_dot_product_attention's enable_gqa (keys and values with fewer heads
// than the queries, read in place) arrived in LibTorch 2.5.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define QLAB_HAS_SDPA_GQA 1
#else
#define QLAB_HAS_SDPA_GQA 0
#endif

// float16 matrix products on the CPU arrived in LibTorch 2.1.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define QLAB_HAS_CPU_HALF_MATMUL 1
#else
#define QLAB_HAS_CPU_HALF_MATMUL 0
#endif

namespace qlab::compat {

// Whether the model can compute in dtype on device with this LibTorch.
inline bool dtype_supported(torch::Device device, torch::ScalarType dtype) {
  return !(device.is_cpu() && dtype == torch::kFloat16 && !QLAB_HAS_CPU_HALF_MATMUL);
}

// softmax(q k^T / sqrt(d) + mask) v with a boolean mask (true = may attend)
// or, when mask is undefined, causal (is_causal) or unmasked. q, k, v have the
// same number of heads or, when QLAB_HAS_SDPA_GQA, k and v may have fewer
// (query head h reads kv head h / (H / KV)). Only callable when QLAB_HAS_SDPA.
inline torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& mask, bool is_causal) {
#if QLAB_HAS_SDPA
  auto m = mask.defined() ? c10::optional<at::Tensor>(mask) : c10::nullopt;
#if QLAB_HAS_SDPA_GQA
  return at::scaled_dot_product_attention(q, k, v, m, 0.0, is_causal, c10::nullopt,
                                          /*enable_gqa=*/k.size(1) != q.size(1));
#else
  return at::scaled_dot_product_attention(q, k, v, m, 0.0, is_causal);
#endif
#else
  (void)q, (void)k, (void)v, (void)mask, (void)is_causal;
  TORCH_CHECK(false, "scaled_dot_product_attention needs LibTorch >= 2.0");
#endif
}

}  // namespace qlab::compat
