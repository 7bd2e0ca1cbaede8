// GPTQ (Frantar et al.) on one weight matrix: quantize the columns of
// W [out, in] one at a time and push each column's rounding error onto the
// not-yet-quantized columns, weighted by the inverse Hessian of the layer's
// squared output error, H = 2/N sum_t x_t x_t^T over calibration inputs.
// Device-agnostic: runs where W and H live.
#pragma once
#include "core/tensor.h"

#include <cstdint>

#include "core/quant/quantizer.h"

namespace qlab {

// Running H = 2/N X^T X over every row (token) seen so far, N the number of
// rows, accumulated in float32 on the inputs' device. As the reference code:
// H *= n / (n + m); X *= sqrt(2 / (n + m)); H += X^T X.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t columns) : columns_(columns) {}
  void add(const torch::Tensor& inputs);   // [..., columns]
  const torch::Tensor& hessian() const;    // [columns, columns]; UsageError before any add
  int64_t samples() const { return samples_; }

 private:
  int64_t columns_;
  int64_t samples_ = 0;
  torch::Tensor h_;
};

struct GptqOptions {
  double percdamp = 0.01;      // damping: H += percdamp * mean(diag H) * I
  int64_t blocksize = 128;     // columns per lazy batch update
  bool act_order = false;      // process columns by decreasing diag(H)
  bool static_groups = false;  // group grids from the original W, fixed upfront
};

struct GptqResult {
  torch::Tensor weight;        // quantized-dequantized W, float32, W's device
  double loss = 0.0;           // sum over columns of (w - q)^2 / Hinv_cc^2 / 2 (reference's)
};

// cfg: weight quantizer, per_channel or per_group (groups of consecutive
// input columns, in processing order when act_order without static_groups).
GptqResult gptq_quantize(const torch::Tensor& weight, const torch::Tensor& hessian,
                         const QuantConfig& cfg, const GptqOptions& options = {});

}  // namespace qlab
