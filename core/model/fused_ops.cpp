#include "core/model/fused_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

// Set by CMake for this file where the kernels are built.
#ifndef QLAB_CUDA_KERNELS
#define QLAB_CUDA_KERNELS 0
#endif
#if QLAB_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/tensor_args.h"
#include "core/quant/online_fns.h"
#endif

namespace qlab {

#if QLAB_CUDA_KERNELS
namespace {

// A CUDA tensor no autograd graph needs to see.
bool inference_on_cuda(const torch::Tensor& t) {
  return t.is_cuda() && !(torch::GradMode::is_enabled() && t.requires_grad());
}

// The current stream of the current device: each launch first makes its
// tensors' device current (a model on cuda:1 must not launch on cuda:0).
void* stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

// Where the norm kernels apply to x and weight.
bool norm_kernel_fits(const torch::Tensor& x, const torch::Tensor& weight) {
  return cuda::kernel_dtype(x) && inference_on_cuda(x) && inference_on_cuda(weight) &&
         weight.scalar_type() == x.scalar_type() && weight.dim() == 1 && x.dim() > 0 && weight.size(0) == x.size(-1);
}

// The fake quantizer of `op` where the row kernels compute it: one grid per
// row of `width` entries, no clip search.
const QuantConfig* row_quantizer(const OnlineOp& op, int64_t width) {
  const auto* fq = op.fn.target<FakeQuantFn>();
  if (!fq || !fq->cfg.enabled() || fq->cfg.clip_search) return nullptr;
  const Granularity g = fq->cfg.granularity;
  const bool per_row = g == Granularity::PerToken || g == Granularity::PerChannel ||
                       (g == Granularity::PerGroup && fq->cfg.groupsize == width);
  return per_row ? &fq->cfg : nullptr;
}

// The Hadamard of `op` where it is one transform of order n with a dense
// power-of-two part (what the butterfly kernels replace).
const HadamardFn* dense_hadamard(const OnlineOp& op, int64_t n) {
  const auto* h = op.fn.target<HadamardFn>();
  return h && h->plan->n == n && h->power_scale > 0.f ? h : nullptr;
}

}  // namespace

torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  if (!norm_kernel_fits(x, weight)) return {};
  auto in = x.contiguous(), w = weight.contiguous();
  auto y = torch::empty_like(in);
  c10::cuda::CUDAGuard guard(x.device());
  cuda::launch_rms_norm(in.data_ptr(), w.data_ptr(), y.data_ptr(), in.numel() / in.size(-1), in.size(-1),
                        float(eps), *cuda::kernel_dtype(x), stream());
  return y;
}

torch::Tensor fused_rms_norm_quant(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                                   const OnlineOp& quant) {
  if (!x.is_cuda() || x.dim() == 0) return {};
  const QuantConfig* cfg = row_quantizer(quant, x.size(-1));
  if (!cfg || !norm_kernel_fits(x, weight)) return {};
  auto in = x.contiguous(), w = weight.contiguous();
  auto y = torch::empty_like(in);
  c10::cuda::CUDAGuard guard(x.device());
  if (!cuda::launch_rms_norm_quant(in.data_ptr(), w.data_ptr(), y.data_ptr(), in.numel() / in.size(-1), in.size(-1),
                                   float(eps), cuda::quant_args(*cfg), *cuda::kernel_dtype(x), stream()))
    return {};
  return y;
}

torch::Tensor fused_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                         const std::vector<OnlineOp>& ops) {
  auto dtype = cuda::kernel_dtype(x);
  cuda::HeadOps head;
  size_t read = 0;
  if (x.dim() == 4) {
    if (read < ops.size() && x.size(3) > 0)
      if (const HadamardFn* h = dense_hadamard(ops[read], x.size(3)); h && h->plan->outer == 1)
        head.hadamard = true, head.scale = h->power_scale, ++read;
    if (read < ops.size())
      if (const QuantConfig* cfg = row_quantizer(ops[read], x.size(3))) head.quant = true, head.q = cuda::quant_args(*cfg), ++read;
  }
  if (read != ops.size()) return {};
  if (!dtype || x.dim() != 4 || x.stride(3) != 1 || x.size(3) % 2 != 0 || !inference_on_cuda(x) ||
      !inference_on_cuda(cos) || cos.scalar_type() != x.scalar_type() || sin.scalar_type() != x.scalar_type() ||
      cos.dim() != 3 || cos.sizes() != sin.sizes() || cos.size(1) != x.size(2) || cos.size(2) != x.size(3) ||
      (cos.size(0) != 1 && cos.size(0) != x.size(0)) || x.numel() >= (int64_t(1) << 31))
    return {};
  // y dense with x's dims in x's memory order (the order of their strides):
  // x's own strides where x is dense (a transposed [B, T, H, D]), and where
  // it is a slice of the fused q/k/v product's rows, what x would be alone.
  std::vector<int64_t> order = {0, 1, 2};
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return x.stride(a) > x.stride(b); });
  std::vector<int64_t> sizes, back(4);
  for (int64_t d : order) sizes.push_back(x.size(d));
  sizes.push_back(x.size(3));
  for (int64_t i = 0; i < 3; ++i) back[order[i]] = i;
  back[3] = 3;
  auto y = torch::empty(sizes, x.options()).permute(back);
  auto c = cos.contiguous(), s = sin.contiguous();
  cuda::RopeShape shape{x.size(0),  x.size(1),  x.size(2),  x.size(3),  x.stride(0), x.stride(1),
                        x.stride(2), y.stride(0), y.stride(1), y.stride(2), c.size(0)};
  c10::cuda::CUDAGuard guard(x.device());
  if (!cuda::launch_rope(x.data_ptr(), c.data_ptr(), s.data_ptr(), y.data_ptr(), shape, head, *dtype, stream()))
    return {};
  return y;
}

torch::Tensor fused_decode_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& mask, const torch::Tensor& last_key) {
  auto dtype = cuda::kernel_dtype(q);
  if (!dtype || !last_key.defined() || !inference_on_cuda(q) || q.size(2) != 1 || q.stride(3) != 1) return {};
  const int64_t B = q.size(0), H = q.size(1), D = q.size(3), KV = k.size(1), C = k.size(2);
  if ((D != 64 && D != 128) || H % KV != 0 || H / KV > 8 || !k.is_contiguous() || !v.is_contiguous() ||
      k.scalar_type() != q.scalar_type() || v.scalar_type() != q.scalar_type() || k.size(0) != B ||
      last_key.scalar_type() != torch::kLong || C * D >= (int64_t(1) << 31) || B * KV >= (int64_t(1) << 31))
    return {};
  const bool* allowed = nullptr;
  if (mask.defined()) {
    if (mask.scalar_type() != torch::kBool || mask.numel() != B * C || mask.size(0) != B || !mask.is_contiguous())
      return {};
    allowed = mask.data_ptr<bool>();
  }
  // The kernel reads q, k and v in 16-byte packs.
  const int64_t pack = 16 / q.element_size();
  auto aligned = [](const torch::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0; };
  if (!aligned(q) || !aligned(k) || !aligned(v) || q.stride(0) % pack != 0 || q.stride(1) % pack != 0) return {};
  c10::cuda::CUDAGuard guard(q.device());
  const int64_t splits = cuda::decode_attention_splits(B * KV, C);
  const int64_t rep = H / KV, records = splits > 1 ? B * KV * splits * rep : 0;
  auto floats = q.options().dtype(torch::kFloat32);
  auto partial = torch::empty({records * D}, floats);
  auto stats = torch::empty({records * 2}, floats);
  auto out = torch::empty({B, H, 1, D}, q.options());
  cuda::DecodeAttentionShape shape{B, H, KV, C, D, q.stride(0), q.stride(1), splits, float(1.0 / std::sqrt(double(D)))};
  cuda::launch_decode_attention(q.data_ptr(), k.data_ptr(), v.data_ptr(), allowed, last_key.data_ptr<int64_t>(),
                                partial.data_ptr<float>(), stats.data_ptr<float>(), out.data_ptr(), shape, *dtype,
                                stream());
  return out;
}

// The stride between consecutive rows of x (every dim but the last, which
// must be contiguous, walked as one), or 0 where the rows are not evenly spaced.
static int64_t row_stride(const torch::Tensor& x) {
  const int64_t d = x.dim();
  if (d < 2 || x.stride(d - 1) != 1) return 0;
  for (int64_t i = 0; i + 2 < d; ++i)
    if (x.size(i) > 1 && x.stride(i) != x.stride(i + 1) * x.size(i + 1)) return 0;
  return x.stride(d - 2);
}

torch::Tensor fused_silu_mul(const torch::Tensor& gate, const torch::Tensor& up) {
  auto dtype = cuda::kernel_dtype(gate);
  if (!dtype || !inference_on_cuda(gate) || !inference_on_cuda(up) || up.scalar_type() != gate.scalar_type() ||
      up.sizes() != gate.sizes() || gate.numel() >= (int64_t(1) << 31))
    return {};
  const int64_t stride = row_stride(gate);
  if (stride == 0 || row_stride(up) != stride) return {};
  auto y = torch::empty(gate.sizes(), gate.options());
  const int64_t width = gate.size(-1);
  c10::cuda::CUDAGuard guard(gate.device());
  cuda::launch_silu_mul(gate.data_ptr(), up.data_ptr(), y.data_ptr(), gate.numel() / std::max<int64_t>(width, 1), width,
                        stride, *dtype, stream());
  return y;
}

torch::Tensor fused_down_input(const torch::Tensor& gate, const torch::Tensor& up, const std::vector<OnlineOp>& ops) {
  auto dtype = cuda::kernel_dtype(gate);
  if (ops.empty() || ops.size() > 2 || !dtype || !inference_on_cuda(gate) || !inference_on_cuda(up) ||
      up.scalar_type() != gate.scalar_type() || up.sizes() != gate.sizes() || gate.dim() == 0)
    return {};
  const int64_t n = gate.size(-1), stride = row_stride(gate);
  const HadamardFn* h = dense_hadamard(ops[0], n);
  const QuantConfig* cfg = ops.size() == 2 ? row_quantizer(ops[1], n) : nullptr;
  if (!h || (ops.size() == 2 && !cfg) || stride == 0 || row_stride(up) != stride) return {};
  const int64_t rows = gate.numel() / n, m = h->plan->outer;
  if (m > 1 && (h->outer_padded.scalar_type() != gate.scalar_type() || h->outer_padded.device() != gate.device()))
    return {};
  const int64_t p = n / m, m_pad = m > 1 ? h->outer_padded.size(1) : 1;
  const cuda::DownInputShape shape{rows, m, p, m_pad, h->power_scale};
  c10::cuda::CUDAGuard guard(gate.device());
  auto out = torch::empty({rows, m_pad * p}, gate.options());
  if (!cuda::launch_silu_mul_hadamard(gate.data_ptr(), up.data_ptr(), out.data_ptr(), stride, shape, *dtype, stream()))
    return {};
  // F over the chunks: one [m, m_pad] by [m_pad, p] per row, F shared by every row.
  if (m > 1) out = torch::bmm(h->outer_padded.expand({rows, m, m_pad}), out.view({rows, m_pad, p})).view({rows, n});
  if (cfg) {
    auto in = out;
    out = torch::empty_like(in);
    cuda::launch_fake_quant_rows(in.data_ptr(), out.data_ptr(), rows, n, rows, 0, *dtype, cuda::quant_args(*cfg), stream());
  }
  return out.view(gate.sizes());
}

torch::Tensor fused_target_logprobs(const torch::Tensor& logits, const torch::Tensor& targets) {
  auto dtype = cuda::kernel_dtype(logits);
  if (!dtype || logits.dim() != 2 || !inference_on_cuda(logits) || !logits.is_contiguous() || !targets.is_cuda() ||
      targets.scalar_type() != torch::kLong || targets.dim() != 1 || targets.size(0) != logits.size(0) ||
      logits.size(0) >= (int64_t(1) << 31))
    return {};
  auto t = targets.contiguous();
  auto out = torch::empty({logits.size(0)}, logits.options().dtype(torch::kFloat64));
  c10::cuda::CUDAGuard guard(logits.device());
  cuda::launch_target_logprobs(logits.data_ptr(), t.data_ptr<int64_t>(), out.data_ptr<double>(), logits.size(0),
                               logits.size(1), *dtype, stream());
  return out;
}

#else

torch::Tensor fused_rms_norm(const torch::Tensor&, const torch::Tensor&, double) { return {}; }
torch::Tensor fused_rms_norm_quant(const torch::Tensor&, const torch::Tensor&, double, const OnlineOp&) { return {}; }
torch::Tensor fused_rope(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                         const std::vector<OnlineOp>&) {
  return {};
}
torch::Tensor fused_down_input(const torch::Tensor&, const torch::Tensor&, const std::vector<OnlineOp>&) { return {}; }
torch::Tensor fused_decode_attention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                     const torch::Tensor&, const torch::Tensor&) {
  return {};
}
torch::Tensor fused_silu_mul(const torch::Tensor&, const torch::Tensor&) { return {}; }
torch::Tensor fused_target_logprobs(const torch::Tensor&, const torch::Tensor&) { return {}; }

#endif

}  // namespace qlab
