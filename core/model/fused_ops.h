// The forward's fused CUDA kernels (core/model/cuda/) behind the functions
// they replace: each returns an undefined tensor where the kernel does not
// apply (the CPU, a build without the kernels, a tensor that needs grad, a
// dtype or shape it does not cover), and the caller then runs LibTorch's ops.
#pragma once
#include <torch/torch.h>

#include "core/model/model.h"

namespace qlab {

// rms_norm (model.h), within float32 rounding of the reduction.
torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// The op `quant` (a per-token fake quantizer, no clip search) applied to
// rms_norm(x, weight, eps), in one kernel, bit for bit what the two kernels
// give: for the input norms, whose output only the quantizer of q, k, v
// (gate, up) reads.
torch::Tensor fused_rms_norm_quant(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                                   const OnlineOp& quant);

// apply_rope (rope.h), bit for bit.
torch::Tensor fused_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// attention (attention.h) of one query per row over a fixed-shape cache,
// reading only the keys 0..last_key (int64 [1] on the device); mask bool
// [B, 1, 1, C] or undefined. In float32, where the unfused path rounds the
// scores and probabilities to the dtype.
torch::Tensor fused_decode_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& mask, const torch::Tensor& last_key);

// The op pair [hadamard or hadamard_heads, fake_quant] of an input-op list
// (core/quant/online.h), e.g. down_proj's R4 and its quantizer, as one kernel
// (core/quant/cuda/transform_quant_kernel.h): per-token quantizers only, no
// clip search, one Hadamard chunk per row, the power-of-two part within the
// dense-product range, an outer factor only in bfloat16 / float16. The
// Hadamard's output in the dtype is what it quantizes, as unfused; the sums
// run in another order, so a value on a rounding boundary can land one unit
// of the dtype away and then, rarely, one quantization step.
torch::Tensor fused_transform_quant(const OnlineOp& transform, const OnlineOp& quant, const torch::Tensor& x);

// The same kernel for a hadamard / hadamard_heads op with no quantizer after
// it (R3 on the queries; every online Hadamard when nothing is quantized):
// one pass over x in memory order, where apply_hadamard copies and makes two.
// Within one unit of the dtype of the unfused ops, for the same reason.
torch::Tensor fused_transform(const OnlineOp& transform, const torch::Tensor& x);

}  // namespace qlab
