// Uniform integer quantizers, simulated in floating point (fake quantization).
//
// Every quantizer here maps x to the grid scale * (q - zero), q an integer in
// [qmin, qmax], with round-to-nearest:
//   q = clamp(round(x / scale) + zero, qmin, qmax),   x_hat = scale * (q - zero)
// QuantConfig is the one place that says what the options mean; weights (RTN,
// GPTQ), activations (per token, dynamic) and the KV cache all go through it.
#pragma once
#include "core/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qlab {

enum class Granularity {
  PerChannel,   // one scale per row of a weight [out, in] (= per output channel)
  PerGroup,     // one scale per `groupsize` consecutive entries of the last dim
  PerToken,     // one scale per row of an activation [..., width] (dynamic)
  PerTensor,    // one scale for the whole tensor
};
const char* to_string(Granularity g);
// "per_channel" | "per_group" | "per_token" | "per_tensor"; UsageError naming
// `where` otherwise.
Granularity parse_granularity(const std::string& name, const std::string& where);

// Symmetric grid. Signed: q in [-2^(b-1), 2^(b-1)-1], zero 0, scale =
// max|x| / (2^(b-1)-1): what QuaRot, SpinQuant and methods.md use. Offset: the
// original GPTQ code's [0, 2^b-1] with zero 2^(b-1) and scale 2 max|x| / (2^b-1).
enum class SymmetricGrid { Signed, Offset };

// The bit widths a quantizer takes: 2..8, and 16 for "not quantized". The one
// statement of that range: parameter schemas list these as their choices, so
// validation and `qlab list` say the same.
constexpr int kMinBits = 2, kMaxBits = 8, kNoQuantBits = 16;
// "2", ..., "8", "16"; with `off` first when the parameter has an "off" value
// of its own (down_a_bits' 0: "same as a_bits").
std::vector<std::string> bit_width_choices(const char* off = nullptr);

struct QuantConfig {
  int bits = 16;                 // kMinBits..kMaxBits; kNoQuantBits means "not quantized"
  bool symmetric = true;
  Granularity granularity = Granularity::PerChannel;
  int64_t groupsize = 0;         // PerGroup only
  double clip_ratio = 1.0;       // range shrunk by this factor, in (0, 1]
  // Clip search (GPTQ's "mse" option, QuaRot's w_clip): per row (or group),
  // try shrink factors 1 - i/clip_grid for i < clip_max_shrink * clip_grid
  // (defaults: 80 factors 1.00, 0.99, ..., 0.21) on top of clip_ratio, keep the
  // one minimising sum |x_hat - x|^clip_norm.
  bool clip_search = false;
  int clip_grid = 100;
  double clip_max_shrink = 0.8;
  double clip_norm = 2.4;
  SymmetricGrid symmetric_grid = SymmetricGrid::Signed;

  bool enabled() const { return bits != 16; }
  // Throws UsageError "<where>: ..." on bits, clip ratio, groupsize or search
  // settings out of range. Checks nothing when disabled.
  void validate(const std::string& where) const;
  // validate() plus: groupsize divides the quantized width.
  void validate_width(int64_t width, const std::string& where) const;
  // e.g. "int4 sym per_group(128) clip 0.9 search"
  std::string describe() const;
};

// Scale and zero point of one quantization grid per row: scale, zero have the
// input's leading shape with a trailing 1 (broadcast over the row).
struct QuantGrid {
  torch::Tensor scale, zero;     // float32 (float64 for float64 input)
  int64_t qmin = 0, qmax = 0;
};

// Grid for every row of x (reduction over the last dim only), honouring bits,
// symmetry, clip ratio and clip search; granularity is the caller's business.
QuantGrid find_grid(const torch::Tensor& x, const QuantConfig& cfg);
// Integer codes q (as floating point) of x on the grid.
torch::Tensor quantize_codes(const torch::Tensor& x, const QuantGrid& grid);
// x_hat = scale * (q - zero), in x's dtype.
torch::Tensor fake_quantize_on_grid(const torch::Tensor& x, const QuantGrid& grid);
// The same into out (x's shape, the grid's dtype; resized if it is not) with no
// temporaries: GPTQ's column loop runs it once per column, into a view of its result.
void fake_quantize_on_grid_out(torch::Tensor& out, const torch::Tensor& x, const QuantGrid& grid);

// Quantize-dequantize along the last dim with cfg's granularity (per-channel
// and per-token both mean one grid per row; groups run over the last dim).
// Returns x unchanged when cfg is disabled. When x requires grad the result is
// x + (x_hat - x).detach(): fake quant forward, identity backward
// (straight-through estimator), so rotations before it can be learned.
torch::Tensor fake_quantize(const torch::Tensor& x, const QuantConfig& cfg);

// The same for the two common uses, checking the granularity makes sense.
torch::Tensor fake_quantize_weight(const torch::Tensor& weight, const QuantConfig& cfg);   // [out, in]
torch::Tensor fake_quantize_activation(const torch::Tensor& x, const QuantConfig& cfg);    // [..., width]

}  // namespace qlab
