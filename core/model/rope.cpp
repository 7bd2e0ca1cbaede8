#include "core/model/rope.h"

#include <cmath>
#include <vector>

#include "core/model/fused_ops.h"

namespace qlab {

// LLaMA 3.1 stretches the context by `factor` by slowing down only the low
// frequencies: wavelengths longer than original_max_position / low_freq_factor
// are divided by factor, those shorter than original_max_position /
// high_freq_factor are kept, and the band between is a linear blend of the two
// in s = original_max_position / wavelength.
static double llama3_scale(double inv_freq, const RopeConfig& r) {
  const double wavelen = 2.0 * M_PI / inv_freq;
  const double low_wavelen = r.original_max_position / r.low_freq_factor;
  const double high_wavelen = r.original_max_position / r.high_freq_factor;
  if (wavelen < high_wavelen) return inv_freq;
  if (wavelen > low_wavelen) return inv_freq / r.factor;
  const double s = (r.original_max_position / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
  return (1.0 - s) * inv_freq / r.factor + s * inv_freq;
}

torch::Tensor rope_inv_freq(const RopeConfig& rope, int64_t head_dim) {
  std::vector<float> f(head_dim / 2);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    double inv = 1.0 / std::pow(rope.theta, double(2 * i) / double(head_dim));
    f[i] = float(rope.type == "llama3" ? llama3_scale(inv, rope) : inv);
  }
  return torch::tensor(f, torch::kFloat32);
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& position_ids,
                                                     torch::ScalarType dtype) {
  auto freqs = position_ids.to(torch::kFloat32).unsqueeze(-1) * inv_freq.to(position_ids.device());
  auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  if (auto y = fused_rope(x, cos, sin); y.defined()) return y;
  const int64_t half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

}  // namespace qlab
