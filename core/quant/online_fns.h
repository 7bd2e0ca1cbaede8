// The callables make_online_op stores in OnlineOp::fn for the kinds a fused
// CUDA kernel can take over (an online Hadamard, the across-heads transform,
// a fake quantizer), as named types: core/model/fused_ops.cpp recognises
// them (std::function::target) and reads their plan or config from them,
// so that what an op is stays said once, by the record it was made from.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "core/quant/hadamard.h"
#include "core/quant/quantizer.h"

namespace qlab {

// The tensor-core tiles of the fused kernel are 16 x 16: a transform's outer
// matrix zero-padded to a multiple of 16 rows and columns, in the op's dtype.
torch::Tensor padded_to_tiles(const torch::Tensor& m);

// "hadamard": the plan on every chunk of plan->n of the last dim.
struct HadamardFn {
  std::shared_ptr<const HadamardPlan> plan;   // matrices on the op's device, in its dtype
  torch::Tensor outer_tiles;                  // padded_to_tiles(outer); undefined when outer == 1
  float power_scale = 1.f;                    // an entry of H_p / sqrt(p) as the dtype holds it
  torch::Tensor operator()(const torch::Tensor& x) const;
};

// "hadamard_heads": x [..., heads * head_dim], each row seen as [heads,
// head_dim] becoming M times it (QuaRot's Hadamard before o_proj).
struct HeadsFn {
  torch::Tensor m;                            // [heads, heads] dense, the op's dtype
  torch::Tensor m_tiles;                      // padded_to_tiles(m)
  torch::Tensor operator()(const torch::Tensor& x) const;
};
torch::Tensor across_heads(const torch::Tensor& x, const torch::Tensor& m);

// "fake_quant".
struct FakeQuantFn {
  QuantConfig cfg;
  torch::Tensor operator()(const torch::Tensor& x) const { return fake_quantize(x, cfg); }
};

}  // namespace qlab
