#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

// One thread per rotated pair (d, d + D/2): both outputs from the same two
// loads. The row's coordinates come from 32-bit divisions where the pair count
// fits (64-bit integer division is a long emulated sequence on the GPU and set
// the kernel's time: 82 us for a 2048-token LLaMA-2-7B Q, about 5x its memory
// traffic's).
template <typename T, typename Index>
__global__ void rope(const T* __restrict__ x, const T* __restrict__ cos, const T* __restrict__ sin, T* __restrict__ y,
                     RopeShape s) {
  const Index half = Index(s.D / 2), pairs = Index(s.B * s.H * s.T) * half;
  const Index i = Index(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= pairs) return;
  const Index d = i % half, row = i / half, t = row % Index(s.T), bh = row / Index(s.T);
  const Index h = bh % Index(s.H), b = bh / Index(s.H);
  const int64_t at = int64_t(b) * s.stride_b + int64_t(h) * s.stride_h + int64_t(t) * s.stride_t;
  const int64_t c = (int64_t(s.cos_batch == 1 ? 0 : b) * s.T + t) * s.D + d;
  const float lo = load(x + at + d), hi = load(x + at + d + half);
  // _rn: no contraction into a fused multiply-add, which the three ops never do.
  store(y + at + d, __fadd_rn(round_to<T>(__fmul_rn(lo, load(cos + c))), round_to<T>(__fmul_rn(-hi, load(sin + c)))));
  store(y + at + d + half,
        __fadd_rn(round_to<T>(__fmul_rn(hi, load(cos + c + half))), round_to<T>(__fmul_rn(lo, load(sin + c + half)))));
}

}  // namespace

void launch_rope(const void* x, const void* cos, const void* sin, void* y, const RopeShape& s, Dtype dtype,
                 void* stream) {
  const int64_t pairs = s.B * s.H * s.T * (s.D / 2);
  if (pairs == 0) return;
  const auto blocks = static_cast<unsigned>((pairs + kThreads - 1) / kThreads);
  auto* st = static_cast<cudaStream_t>(stream);
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    auto launch = [&](auto kernel) {
      kernel<<<blocks, kThreads, 0, st>>>(static_cast<const T*>(x), static_cast<const T*>(cos),
                                          static_cast<const T*>(sin), static_cast<T*>(y), s);
    };
    if (pairs + kThreads < (int64_t(1) << 32)) launch(rope<T, uint32_t>);
    else launch(rope<T, int64_t>);
  });
  check_launch("rope kernel");
}

}  // namespace qlab::cuda
