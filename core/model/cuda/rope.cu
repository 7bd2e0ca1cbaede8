#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void rope(const T* __restrict__ x, const T* __restrict__ cos, const T* __restrict__ sin, T* __restrict__ y,
                     RopeShape s) {
  const int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= s.B * s.H * s.T * s.D) return;
  const int64_t d = i % s.D, t = (i / s.D) % s.T, h = (i / (s.D * s.T)) % s.H, b = i / (s.D * s.T * s.H);
  const int64_t half = s.D / 2, at = b * s.stride_b + h * s.stride_h + t * s.stride_t;
  const float rotated = d < half ? -load(x + at + d + half) : load(x + at + d - half);
  const int64_t c = ((s.cos_batch == 1 ? 0 : b) * s.T + t) * s.D + d;
  // _rn: no contraction into a fused multiply-add, which the three ops never do.
  store(y + at + d, __fadd_rn(round_to<T>(__fmul_rn(load(x + at + d), load(cos + c))),
                              round_to<T>(__fmul_rn(rotated, load(sin + c)))));
}

}  // namespace

void launch_rope(const void* x, const void* cos, const void* sin, void* y, const RopeShape& s, Dtype dtype,
                 void* stream) {
  const int64_t n = s.B * s.H * s.T * s.D;
  if (n == 0) return;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    rope<T><<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(cos), static_cast<const T*>(sin), static_cast<T*>(y), s);
  });
  check_launch("rope kernel");
}

}  // namespace qlab::cuda
