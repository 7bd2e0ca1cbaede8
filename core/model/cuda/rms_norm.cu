#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/row_quant.cuh"

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

// 1 / rms of the row `in` (every thread gets it).
template <typename T>
__device__ float inverse_rms(const T* in, int64_t width, float eps, float* shared) {
  float squares = 0.f;
  for (int64_t i = threadIdx.x; i < width; i += kThreads) {
    const float v = load(in + i);
    squares += v * v;
  }
  return rsqrtf(block_sum(squares, shared) / float(width) + eps);
}

// Entry i of the normed row before its rounding to T.
template <typename T>
__device__ float normed(const T* in, const T* w, int64_t i, float r) {
  return __fmul_rn(load(w + i), round_to<T>(__fmul_rn(load(in + i), r)));
}

template <typename T>
__global__ void rms_norm_rows(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int64_t width,
                              float eps) {
  __shared__ float shared[kThreads / 32];
  const T* in = x + blockIdx.x * width;
  T* out = y + blockIdx.x * width;
  const float r = inverse_rms(in, width, eps, shared);
  for (int64_t i = threadIdx.x; i < width; i += kThreads) store(out + i, normed(in, w, i, r));
}

// The same row, as the dtype holds it, fake-quantized: held in shared memory
// between its range and its codes, so that it is read once and written once.
template <typename T>
__global__ void rms_norm_quant_rows(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,
                                    int64_t width, float eps, QuantArgs q) {
  extern __shared__ float held[];
  __shared__ float shared[32];
  const T* in = x + blockIdx.x * width;
  T* out = y + blockIdx.x * width;
  const float r = inverse_rms(in, width, eps, shared);
  __syncthreads();   // block_sum leaves `shared` being read
  RowRange range;
  for (int64_t i = threadIdx.x; i < width; i += kThreads) {
    held[i] = round_to<T>(normed(in, w, i, r));
    range.add(held[i], q.symmetric);
  }
  const RowGrid g = block_row_grid(range, q, shared);
  for (int64_t i = threadIdx.x; i < width; i += kThreads) store(out + i, fake_quant_value(held[i], g, q));
}

}  // namespace

bool launch_rms_norm_quant(const void* x, const void* w, void* y, int64_t rows, int64_t width, float eps,
                           const QuantArgs& q, Dtype dtype, void* stream) {
  const size_t bytes = static_cast<size_t>(width) * sizeof(float);
  if (bytes > 48 * 1024) return false;
  if (rows == 0 || width == 0) return true;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    rms_norm_quant_rows<T><<<static_cast<unsigned>(rows), kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y), width, eps, q);
  });
  check_launch("rms_norm + fake-quant kernel");
  return true;
}

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
