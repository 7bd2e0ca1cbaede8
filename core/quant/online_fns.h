// Callables of make_online_op (core/quant/online.h) that others need by
// name: the across-heads transform, and the Hadamard and the fake quantizer
// as named types, which core/model/fused_ops.cpp recognises
// (std::function::target) and reads their plan and config from, so that
// what an op is stays said once, by the record it was made from.
#pragma once
#include "core/tensor.h"

#include <memory>

#include "core/quant/hadamard.h"
#include "core/quant/quantizer.h"

namespace qlab {

// "hadamard_heads": x [..., heads * head_dim], each row seen as [heads,
// head_dim] becoming m times it (QuaRot's Hadamard before o_proj); m [heads,
// heads] dense in the op's dtype.
torch::Tensor across_heads(const torch::Tensor& x, const torch::Tensor& m);

// "hadamard": the plan (its matrices in the op's device and dtype) on each
// chunk of plan->n. power_scale: the entries' magnitude of its dense H_p /
// sqrt(p) in that dtype (0 where the plan has none), which a kernel that
// runs the butterfly instead multiplies by to give the product's values.
// outer_padded: F [m, m_pad], m_pad = m rounded up to a multiple of 8 (whole
// 16-byte packs), zero beyond column m, in that device and dtype: the F of
// the fused down_proj input (core/model/fused_ops.cpp), whose batched GEMM
// with a dimension like 172 would take cuBLAS's slow unaligned kernels.
// Undefined where m = 1.
struct HadamardFn {
  std::shared_ptr<const HadamardPlan> plan;
  float power_scale = 0.f;
  torch::Tensor outer_padded;
  torch::Tensor operator()(const torch::Tensor& x) const { return apply_hadamard(x, *plan); }
};

// "fake_quant".
struct FakeQuantFn {
  QuantConfig cfg;
  torch::Tensor operator()(const torch::Tensor& x) const { return fake_quantize(x, cfg); }
};

}  // namespace qlab
