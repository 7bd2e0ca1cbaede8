#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < kThreads / 32 ? shared[lane] : 0.f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename T>
__global__ void rms_norm_rows(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int64_t width,
                              float eps) {
  __shared__ float shared[kThreads / 32];
  const T* in = x + blockIdx.x * width;
  T* out = y + blockIdx.x * width;
  float squares = 0.f;
  for (int64_t i = threadIdx.x; i < width; i += kThreads) {
    const float v = load(in + i);
    squares += v * v;
  }
  const float r = rsqrtf(block_sum(squares, shared) / float(width) + eps);
  for (int64_t i = threadIdx.x; i < width; i += kThreads)
    store(out + i, __fmul_rn(load(w + i), round_to<T>(__fmul_rn(load(in + i), r))));
}

}  // namespace

void launch_rms_norm(const void* x, const void* w, void* y, int64_t rows, int64_t width, float eps, Dtype dtype,
                     void* stream) {
  if (rows == 0 || width == 0) return;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    rms_norm_rows<T><<<static_cast<unsigned>(rows), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y), width, eps);
  });
  check_launch("rms_norm kernel");
}

}  // namespace qlab::cuda
