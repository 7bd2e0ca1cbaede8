// What a LibTorch caller of qlab's CUDA kernels hands them: the kernel's
// element type for a tensor (none for a dtype no kernel covers), a
// quantizer's grid constants, and rows in the order memory holds them.
// Compiled only where the kernels are (QLAB_CUDA_KERNELS).
#pragma once
#include "core/tensor.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <vector>

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

// A row-wise kernel (one row per last-dim slice) computes the same on any
// order of the rows. The forward's keys and values are [B, heads, T, D] views
// of [B, T, heads, D] memory: with the leading dims put in the order of their
// strides the view is contiguous, so the kernel runs on the memory as it is
// and its output, permuted back (`back`), has the input's shape, without the
// copy .contiguous() would make. Undefined where no order of the leading dims
// makes x contiguous.
struct RowOrder {
  torch::Tensor rows;            // contiguous, x's leading dims permuted
  std::vector<int64_t> back;     // the permutation from rows' dims to x's
};
inline std::optional<RowOrder> rows_in_memory_order(const torch::Tensor& x) {
  const int64_t d = x.dim();
  std::vector<int64_t> perm(d);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end() - 1, [&](int64_t a, int64_t b) { return x.stride(a) > x.stride(b); });
  torch::Tensor rows = x.permute(perm);
  if (!rows.is_contiguous()) return std::nullopt;
  std::vector<int64_t> back(d);
  for (int64_t i = 0; i < d; ++i) back[perm[i]] = i;
  return RowOrder{rows, back};
}

}  // namespace qlab::cuda
