// The forward's fused CUDA kernels (core/model/cuda/) behind the functions
// they replace: each returns an undefined tensor where the kernel does not
// apply (the CPU, a build without the kernels, a tensor that needs grad, a
// dtype or shape it does not cover), and the caller then runs LibTorch's ops.
#pragma once
#include "core/tensor.h"

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

// apply_rope (rope.h), bit for bit; with `ops`, apply_ops(ops, apply_rope(x,
// cos, sin)) in the same kernel where they are a Hadamard of order head_dim
// (R3), a fake quantizer with one grid per head row (the KV cache's), or the
// two in that order: the quantizer bit for bit, the Hadamard as
// model_kernels.h's HeadOps says. Undefined for any other ops.
torch::Tensor fused_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                         const std::vector<OnlineOp>& ops = {});

// attention (attention.h) of one query per row over a fixed-shape cache,
// reading only the keys 0..last_key (int64 [1] on the device); mask bool
// [B, 1, 1, C] or undefined. In float32, where the unfused path rounds the
// scores and probabilities to the dtype.
torch::Tensor fused_decode_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& mask, const torch::Tensor& last_key);

// torch::silu(gate) * up, bit for bit, in one kernel (one read of each, one
// write; LibTorch's two ops write and read the silu between them). gate and
// up: the same shape, last dim contiguous, rows at one stride (the halves of
// the fused gate/up product's rows); the result is contiguous.
torch::Tensor fused_silu_mul(const torch::Tensor& gate, const torch::Tensor& up);

// apply_ops(ops, silu(gate) * up) where ops are down_proj's under QuaRot's R4:
// a Hadamard of the MLP's width (a dense power-of-two part, hadamard.h), then
// optionally a per-token fake quantizer; in three launches (model_kernels.h's
// DownInputShape says which and to what rounding). Undefined for any other ops.
torch::Tensor fused_down_input(const torch::Tensor& gate, const torch::Tensor& up, const std::vector<OnlineOp>& ops);

// log_softmax(logits.to(float64), -1).gather(-1, targets) for logits [rows,
// vocab] (the head's output in the model's dtype) and targets int64 [rows]:
// float64 [rows], to float64 rounding, with no float64 copy of the logits.
torch::Tensor fused_target_logprobs(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace qlab
