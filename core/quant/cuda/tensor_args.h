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
// strides the rows follow each other in memory, so the kernel reads the
// memory as it is and its output, permuted back (`back`), has the input's
// shape, without the copy .contiguous() would make. The value slice of the
// fused q/k/v product is such a view with gaps: a token's heads are
// contiguous, the tokens a whole product row apart. So the rows are read in
// groups: row r starts at (r / group) * group_stride + (r % group) * width
// (all rows one group where they are contiguous). Undefined where no order of
// the leading dims gives that form.
struct RowOrder {
  torch::Tensor rows;            // x's leading dims permuted into memory order
  std::vector<int64_t> back;     // the permutation from rows' dims to x's
  int64_t group = 1, group_stride = 0;
};
inline std::optional<RowOrder> rows_in_memory_order(const torch::Tensor& x) {
  const int64_t d = x.dim();
  if (d == 0 || x.stride(d - 1) != 1) return std::nullopt;
  std::vector<int64_t> perm(d);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end() - 1, [&](int64_t a, int64_t b) { return x.stride(a) > x.stride(b); });
  RowOrder order{x.permute(perm), std::vector<int64_t>(d)};
  for (int64_t i = 0; i < d; ++i) order.back[perm[i]] = i;
  const torch::Tensor& r = order.rows;
  // The innermost leading dims that continue the rows densely form a group,
  // the rest must step evenly by whole groups.
  int64_t i = d - 2, next = r.size(d - 1);
  for (; i >= 0 && (r.size(i) == 1 || r.stride(i) == next); --i) next *= r.size(i), order.group *= r.size(i);
  if (i < 0) return order;
  order.group_stride = r.stride(i);
  if (order.group_stride < next) return std::nullopt;   // overlapping groups
  for (int64_t step = order.group_stride; i >= 0; --i) {
    if (r.size(i) != 1 && r.stride(i) != step) return std::nullopt;
    step *= r.size(i);
  }
  return order;
}

}  // namespace qlab::cuda
