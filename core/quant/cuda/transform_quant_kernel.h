// The launcher of the fused transform-and-quantize kernel
// (transform_quant.cu): an online Hadamard, or the across-heads transform,
// and (optionally) the per-token fake quantizer of its output, in one pass
// over the activation where the unfused ops make two to four. Free of
// LibTorch headers (core/model/fused_ops.h decides when it runs).
#pragma once
#include <cstdint>

#include "core/quant/cuda/fake_quant_kernel.h"

namespace qlab::cuda {

// Each row of x [rows, m * p] (contiguous), seen as [m, p] (index a p + b), becomes
//   1. with `butterfly`: every length-p piece times H_p (Sylvester, p a power
//      of two), the sums in float32, times power_scale (1/sqrt(p) as the
//      dtype holds it), rounded to the dtype: apply_hadamard's product with
//      its dense H_p / sqrt(p);
//   2. with `outer` [outer_padded, outer_padded] (the outer matrix F in the
//      dtype, zero-padded to a multiple of 16; bfloat16 or float16 only, p a
//      multiple of 16): F times the [m, p] matrix, on tensor cores with
//      float32 accumulation, rounded to the dtype: the matmul with F that
//      apply_hadamard (or across_heads, F = M) makes;
//   3. with `quantize`, fake-quantized on one grid per row (QuantArgs);
// written to y.
// One block per row, the row held in shared memory. False (nothing launched)
// where the row does not fit in a block's shared memory.
struct TransformQuantShape {
  int64_t rows, m, p;
  bool butterfly;
  float power_scale;
  const void* outer;      // null: no outer stage
  int64_t outer_padded;
  bool quantize;
};
bool launch_transform_quant(const void* x, void* y, const TransformQuantShape& s, const QuantArgs& q, Dtype dtype,
                            void* stream);

}  // namespace qlab::cuda
