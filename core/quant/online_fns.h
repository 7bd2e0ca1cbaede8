// Callables of make_online_op (core/quant/online.h) that others need by
// name: the across-heads transform, and the fake quantizer as a named type,
// which core/model/fused_ops.cpp recognises (std::function::target) and
// reads its config from, so that what an op is stays said once, by the
// record it was made from.
#pragma once
#include "core/tensor.h"

#include "core/quant/quantizer.h"

namespace qlab {

// "hadamard_heads": x [..., heads * head_dim], each row seen as [heads,
// head_dim] becoming m times it (QuaRot's Hadamard before o_proj); m [heads,
// heads] dense in the op's dtype.
torch::Tensor across_heads(const torch::Tensor& x, const torch::Tensor& m);

// "fake_quant".
struct FakeQuantFn {
  QuantConfig cfg;
  torch::Tensor operator()(const torch::Tensor& x) const { return fake_quantize(x, cfg); }
};

}  // namespace qlab
