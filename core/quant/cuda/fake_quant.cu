#include "core/quant/cuda/element.cuh"
#include "core/quant/cuda/fake_quant_kernel.h"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

// Block-wide max of v (every thread gets the result).
__device__ float block_max(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < kThreads / 32 ? shared[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();   // shared is reused by the next reduction
  return v;
}

template <typename T>
__global__ void fake_quant_rows(const T* __restrict__ x, T* __restrict__ y, int64_t width, bool symmetric, float mult,
                                float factor, float sym_zero, float qmin, float qmax) {
  __shared__ float shared[kThreads / 32];
  const T* in = x + blockIdx.x * width;
  T* out = y + blockIdx.x * width;
  // The range always includes 0 (quantizer.cpp's grid_from_range).
  float hi = 0.f, neg_lo = 0.f;
  for (int64_t i = threadIdx.x; i < width; i += kThreads) {
    const float v = load(in + i);
    hi = fmaxf(hi, symmetric ? fabsf(v) : v);
    neg_lo = fmaxf(neg_lo, -v);
  }
  hi = block_max(hi, shared);
  float scale, zero;
  if (symmetric) {
    scale = __fmul_rn(hi, mult);
    if (!(scale > 0.f)) scale = 1.f;
    zero = sym_zero;
  } else {
    const float lo = -block_max(neg_lo, shared);
    scale = __fmul_rn(__fsub_rn(hi, lo), mult);
    if (!(scale > 0.f)) scale = 1.f;
    zero = rintf(__fdiv_rn(__fmul_rn(-lo, factor), scale));
  }
  for (int64_t i = threadIdx.x; i < width; i += kThreads) {
    const float q = fminf(fmaxf(__fadd_rn(rintf(__fdiv_rn(load(in + i), scale)), zero), qmin), qmax);
    store(out + i, __fmul_rn(__fsub_rn(q, zero), scale));
  }
}

template <typename T>
void launch(const void* x, void* y, int64_t rows, int64_t width, bool symmetric, float mult, float factor,
            float sym_zero, float qmin, float qmax, cudaStream_t stream) {
  fake_quant_rows<T><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<T*>(y), width, symmetric, mult, factor, sym_zero, qmin, qmax);
}

}  // namespace

void launch_fake_quant_rows(const void* x, void* y, int64_t rows, int64_t width, Dtype dtype, bool symmetric,
                            float mult, float factor, float sym_zero, float qmin, float qmax, void* stream) {
  if (rows == 0 || width == 0) return;
  with_element_type(dtype, [&](auto t) {
    launch<decltype(t)>(x, y, rows, width, symmetric, mult, factor, sym_zero, qmin, qmax,
                        static_cast<cudaStream_t>(stream));
  });
  check_launch("fake-quant kernel");
}

}  // namespace qlab::cuda
