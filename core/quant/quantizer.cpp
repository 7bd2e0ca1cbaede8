#include "core/quant/quantizer.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

#if QLAB_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/quant/cuda/fake_quant_kernel.h"
#include "core/quant/cuda/tensor_args.h"
#endif

namespace qlab {

const char* to_string(Granularity g) {
  switch (g) {
    case Granularity::PerChannel: return "per_channel";
    case Granularity::PerGroup: return "per_group";
    case Granularity::PerToken: return "per_token";
    case Granularity::PerTensor: return "per_tensor";
  }
  return "?";
}

Granularity parse_granularity(const std::string& name, const std::string& where) {
  for (Granularity g : {Granularity::PerChannel, Granularity::PerGroup, Granularity::PerToken,
                        Granularity::PerTensor})
    if (name == to_string(g)) return g;
  throw UsageError(where + ": unknown quantization granularity '" + name +
                   "' (allowed: per_channel, per_group, per_token, per_tensor)");
}

std::vector<std::string> bit_width_choices(const char* off) {
  std::vector<std::string> c;
  if (off) c.push_back(off);
  for (int b = kMinBits; b <= kMaxBits; ++b) c.push_back(std::to_string(b));
  c.push_back(std::to_string(kNoQuantBits));
  return c;
}

void QuantConfig::validate(const std::string& where) const {
  auto fail = [&](const std::string& what) { throw UsageError(where + ": " + what); };
  if (bits == kNoQuantBits) return;
  if (bits < kMinBits || bits > kMaxBits)
    fail("quantization bits must be " + std::to_string(kMinBits) + ".." + std::to_string(kMaxBits) + ", or " +
         std::to_string(kNoQuantBits) + " for no quantization; got " + std::to_string(bits));
  if (!(clip_ratio > 0.0 && clip_ratio <= 1.0))
    fail("clip ratio must be in (0, 1]; got " + std::to_string(clip_ratio));
  if (granularity == Granularity::PerGroup && groupsize <= 0)
    fail("per_group quantization needs a groupsize > 0; got " + std::to_string(groupsize));
  if (granularity != Granularity::PerGroup && groupsize != 0)
    fail("groupsize " + std::to_string(groupsize) + " given with " + to_string(granularity) +
         " quantization (use per_group)");
  if (clip_search) {
    if (clip_grid < 1) fail("clip search grid must be >= 1; got " + std::to_string(clip_grid));
    if (!(clip_max_shrink >= 0.0 && clip_max_shrink < 1.0))
      fail("clip search max shrink must be in [0, 1); got " + std::to_string(clip_max_shrink));
    if (!(clip_norm > 0.0)) fail("clip search norm must be > 0; got " + std::to_string(clip_norm));
  }
}

void QuantConfig::validate_width(int64_t width, const std::string& where) const {
  validate(where);
  if (enabled() && granularity == Granularity::PerGroup && width % groupsize != 0)
    throw UsageError(where + ": groupsize " + std::to_string(groupsize) +
                     " does not divide the quantized width " + std::to_string(width));
}

std::string QuantConfig::describe() const {
  if (!enabled()) return "off";
  std::ostringstream s;
  s << "int" << bits << (symmetric ? " sym" : " asym");
  if (symmetric && symmetric_grid == SymmetricGrid::Offset) s << "(offset grid)";
  s << " " << to_string(granularity);
  if (granularity == Granularity::PerGroup) s << "(" << groupsize << ")";
  if (clip_ratio != 1.0) s << " clip " << clip_ratio;
  if (clip_search) s << " clip-search";
  return s.str();
}

namespace {

// What the config fixes before any data is seen: the code range, how many
// steps of the grid the symmetric range max|x| spans (signed grid: qmax
// steps up; offset grid: the whole 2 max|x|), and a symmetric grid's zero.
struct GridShape {
  int64_t qmin, qmax;
  double span, symmetric_zero;
};
GridShape grid_shape(const QuantConfig& cfg) {
  const int64_t half = int64_t{1} << (cfg.bits - 1);
  if (cfg.symmetric && cfg.symmetric_grid == SymmetricGrid::Signed) return {-half, half - 1, 1.0, 0.0};
  return {0, 2 * half - 1, cfg.symmetric ? 2.0 : 1.0, cfg.symmetric ? static_cast<double>(half) : 0.0};
}

// Scale and zero for every row from the row's range shrunk by `factor`.
// The range always includes 0 (as in the reference codes): zero is then exactly
// representable and the zero point lies inside [qmin, qmax].
void grid_from_range(const torch::Tensor& lo, const torch::Tensor& hi, double factor,
                     const QuantConfig& cfg, QuantGrid& g) {
  const GridShape shape = grid_shape(cfg);
  if (cfg.symmetric) {
    g.scale = hi * (shape.span * factor / static_cast<double>(g.qmax));
    g.scale = torch::where(g.scale > 0, g.scale, torch::ones_like(g.scale));   // all-zero rows
    g.zero = torch::full_like(g.scale, shape.symmetric_zero);
  } else {
    g.scale = (hi - lo) * (factor / static_cast<double>(g.qmax));
    g.scale = torch::where(g.scale > 0, g.scale, torch::ones_like(g.scale));
    g.zero = torch::round(-lo * factor / g.scale);
  }
}

torch::Tensor row_error(const torch::Tensor& x, const QuantGrid& g, double norm) {
  return (fake_quantize_on_grid(x, g) - x).abs().pow(norm).sum(-1, /*keepdim=*/true);
}

}  // namespace

QuantGrid find_grid(const torch::Tensor& x_in, const QuantConfig& cfg) {
  const auto dtype = x_in.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const torch::Tensor x = x_in.detach().to(dtype);
  QuantGrid g;
  const GridShape shape = grid_shape(cfg);
  g.qmin = shape.qmin;
  g.qmax = shape.qmax;
  torch::Tensor lo, hi;
  if (cfg.symmetric) {
    hi = x.abs().amax(-1, /*keepdim=*/true);
  } else {
    lo = x.amin(-1, true).clamp_max(0);
    hi = x.amax(-1, true).clamp_min(0);
  }
  grid_from_range(lo, hi, cfg.clip_ratio, cfg, g);
  if (!cfg.clip_search) return g;

  // Keep, per row, the shrink factor with the smallest sum |x_hat - x|^norm;
  // strict improvement only, so the search never does worse than factor 1.
  torch::Tensor best = row_error(x, g, cfg.clip_norm);
  const int steps = static_cast<int>(cfg.clip_max_shrink * cfg.clip_grid + 1e-9);
  for (int i = 1; i < steps; ++i) {
    QuantGrid c = g;
    grid_from_range(lo, hi, cfg.clip_ratio * (1.0 - static_cast<double>(i) / cfg.clip_grid), cfg, c);
    torch::Tensor err = row_error(x, c, cfg.clip_norm);
    torch::Tensor better = err < best;
    best = torch::where(better, err, best);
    g.scale = torch::where(better, c.scale, g.scale);
    g.zero = torch::where(better, c.zero, g.zero);
  }
  return g;
}

namespace {
// x / scale (already in t) to the codes: round, shift by zero, clamp.
void codes_in_place(torch::Tensor& t, const QuantGrid& g) {
  t.round_().add_(g.zero).clamp_(static_cast<double>(g.qmin), static_cast<double>(g.qmax));
}
}  // namespace

torch::Tensor quantize_codes(const torch::Tensor& x, const QuantGrid& g) {
  torch::Tensor q = x.to(g.scale.scalar_type()) / g.scale;
  codes_in_place(q, g);
  return q;
}

void fake_quantize_on_grid_out(torch::Tensor& out, const torch::Tensor& x, const QuantGrid& g) {
  at::div_out(out, x.to(g.scale.scalar_type()), g.scale);
  codes_in_place(out, g);
  out.sub_(g.zero).mul_(g.scale);
}

torch::Tensor fake_quantize_on_grid(const torch::Tensor& x, const QuantGrid& g) {
  torch::Tensor out = torch::empty({0}, g.scale.options());
  fake_quantize_on_grid_out(out, x, g);
  return out.to(x.scalar_type());
}

#if QLAB_CUDA_KERNELS
cuda::QuantArgs cuda::quant_args(const QuantConfig& cfg) {
  const GridShape shape = grid_shape(cfg);
  const double qmax = static_cast<double>(shape.qmax);
  return {cfg.symmetric,
          static_cast<float>(shape.span * cfg.clip_ratio / qmax),
          static_cast<float>(cfg.clip_ratio),
          static_cast<float>(shape.symmetric_zero),
          static_cast<float>(shape.qmin),
          static_cast<float>(qmax)};
}

namespace {
// The fused kernel (cuda/fake_quant.cu) for what it covers: a CUDA tensor of
// a floating dtype, no clip search, one grid per row. Undefined otherwise.
torch::Tensor fused_fake_quantize_rows(const torch::Tensor& rows, const QuantConfig& cfg) {
  if (!rows.is_cuda() || cfg.clip_search || cfg.granularity == Granularity::PerTensor) return {};
  const auto dtype = cuda::kernel_dtype(rows);
  if (!dtype) return {};
  auto order = cuda::rows_in_memory_order(rows);
  if (!order) order = cuda::rows_in_memory_order(rows.contiguous());
  const torch::Tensor& in = order->rows;
  torch::Tensor out = torch::empty(in.sizes(), in.options());
  const int64_t n = in.numel() / std::max<int64_t>(in.size(-1), 1);
  c10::cuda::CUDAGuard guard(in.device());
  cuda::launch_fake_quant_rows(in.data_ptr(), out.data_ptr(), n, in.size(-1), order->group, order->group_stride,
                               *dtype, cuda::quant_args(cfg), c10::cuda::getCurrentCUDAStream().stream());
  return out.permute(order->back);
}
}  // namespace
#endif

torch::Tensor fake_quantize(const torch::Tensor& x, const QuantConfig& cfg) {
  if (!cfg.enabled()) return x;
  if (x.dim() == 0) throw UsageError("quantizer: cannot quantize a 0-dimensional tensor");
  cfg.validate_width(x.size(-1), "quantizer");
  const torch::Tensor v = x.detach();
  torch::Tensor rows;
  switch (cfg.granularity) {
    case Granularity::PerTensor: rows = v.reshape({1, -1}); break;
    case Granularity::PerGroup: {
      std::vector<int64_t> shape = v.sizes().vec();
      shape.back() = v.size(-1) / cfg.groupsize;
      shape.push_back(cfg.groupsize);
      rows = v.reshape(shape);
      break;
    }
    case Granularity::PerChannel:
    case Granularity::PerToken: rows = v; break;
  }
  torch::Tensor out;
#if QLAB_CUDA_KERNELS
  out = fused_fake_quantize_rows(rows, cfg);
#endif
  if (!out.defined()) out = fake_quantize_on_grid(rows, find_grid(rows, cfg));
  out = out.reshape(x.sizes());
  if (x.requires_grad()) return x + (out - x).detach();
  return out;
}

torch::Tensor fake_quantize_weight(const torch::Tensor& weight, const QuantConfig& cfg) {
  if (!cfg.enabled()) return weight;
  if (weight.dim() != 2)
    throw UsageError("quantizer: weight quantization expects a matrix [out, in]; got " +
                     std::to_string(weight.dim()) + " dimensions");
  if (cfg.granularity != Granularity::PerChannel && cfg.granularity != Granularity::PerGroup &&
      cfg.granularity != Granularity::PerTensor)
    throw UsageError(std::string("quantizer: weights are quantized per_channel, per_group or "
                                 "per_tensor, not ") + to_string(cfg.granularity));
  return fake_quantize(weight, cfg);
}

torch::Tensor fake_quantize_activation(const torch::Tensor& x, const QuantConfig& cfg) {
  if (!cfg.enabled()) return x;
  if (cfg.granularity == Granularity::PerChannel)
    throw UsageError("quantizer: activations are quantized per_token, per_group or per_tensor, "
                     "not per_channel");
  return fake_quantize(x, cfg);
}

}  // namespace qlab
