#include "core/model/cuda/model_kernels.h"
#include "core/model/cuda/silu.cuh"
#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

// A thread per W elements of a row (W = kPack<T> where the row allows): silu
// as LibTorch's CUDA kernel computes it (float32, rounded to T), then the
// product with up rounded to T, as the two ops store them.
template <typename T, int W>
__global__ void silu_mul(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ y, int64_t width,
                         int64_t in_stride, unsigned per_row, unsigned threads) {
  const unsigned i = blockIdx.x * kThreads + threadIdx.x;
  if (i >= threads) return;
  const int64_t row = i / per_row, col = int64_t(i % per_row) * W;
  const T* g = gate + row * in_stride + col;
  const T* u = up + row * in_stride + col;
  float gf[W], uf[W], out[W];
  if constexpr (W == kPack<T>) {
    unpack<T>(load_pack(g), gf);
    unpack<T>(load_pack(u), uf);
  } else {
#pragma unroll
    for (int e = 0; e < W; ++e) gf[e] = load(g + e), uf[e] = load(u + e);
  }
#pragma unroll
  for (int e = 0; e < W; ++e) out[e] = silu_times<T>(gf[e], uf[e]);
  if constexpr (W == kPack<T>) {
    store_pack(y + row * width + col, out);
  } else {
#pragma unroll
    for (int e = 0; e < W; ++e) store(y + row * width + col + e, out[e]);
  }
}

template <typename T, int W>
void launch(const void* gate, const void* up, void* y, int64_t rows, int64_t width, int64_t in_stride,
            cudaStream_t stream) {
  const unsigned per_row = unsigned(width / W), threads = unsigned(rows) * per_row;
  silu_mul<T, W><<<(threads + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
      static_cast<const T*>(gate), static_cast<const T*>(up), static_cast<T*>(y), width, in_stride, per_row, threads);
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void launch_silu_mul(const void* gate, const void* up, void* y, int64_t rows, int64_t width, int64_t in_stride,
                     Dtype dtype, void* stream) {
  if (rows == 0 || width == 0) return;
  if (rows * width >= (int64_t(1) << 31)) throw std::invalid_argument("silu * up kernel: fewer than 2^31 elements");
  auto st = static_cast<cudaStream_t>(stream);
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    constexpr int P = kPack<T>;
    if (width % P == 0 && in_stride % P == 0 && aligned(gate) && aligned(up) && aligned(y))
      launch<T, P>(gate, up, y, rows, width, in_stride, st);
    else
      launch<T, 1>(gate, up, y, rows, width, in_stride, st);
  });
  check_launch("silu * up kernel");
}

}  // namespace qlab::cuda
