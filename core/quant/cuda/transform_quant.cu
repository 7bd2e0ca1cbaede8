#include <mma.h>

#include <type_traits>

#include "core/quant/cuda/row_quant.cuh"
#include "core/quant/cuda/transform_quant_kernel.h"

namespace qlab::cuda {
namespace {

namespace wmma = nvcuda::wmma;
constexpr int kTile = 16;

template <typename T>
constexpr bool kTensorCores = std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>;

// out [n, p] = f [n, n] in [n, p] (n = tiles * 16; f in global memory, in
// and out in shared memory, all row-major), one 16 x 16 output tile per warp
// at a time, float32 accumulation.
template <typename T>
__device__ void outer_product(const T* __restrict__ f, const T* in, float* out, int64_t tiles, int64_t p) {
  if constexpr (kTensorCores<T>) {
    const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
    const int64_t n = tiles * kTile;
    const int col_tiles = static_cast<int>(p / kTile), all = static_cast<int>(tiles) * col_tiles;
    for (int t = warp; t < all; t += warps) {
      const int64_t ta = t / col_tiles, tb = t % col_tiles;
      wmma::fragment<wmma::accumulator, kTile, kTile, kTile, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int64_t k = 0; k < tiles; ++k) {
        wmma::fragment<wmma::matrix_a, kTile, kTile, kTile, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, kTile, kTile, kTile, T, wmma::row_major> b;
        wmma::load_matrix_sync(a, f + ta * kTile * n + k * kTile, static_cast<unsigned>(n));
        wmma::load_matrix_sync(b, in + k * kTile * p + tb * kTile, static_cast<unsigned>(p));
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(out + ta * kTile * p + tb * kTile, acc, static_cast<unsigned>(p), wmma::mem_row_major);
    }
  }
}

// One block per row (transform_quant_kernel.h says what it computes). Shared
// memory: the row in float32 ([held, p], held = outer_padded with an outer
// stage, else m), then with an outer stage its [held, p] tiles in T.
// The row is read and written in packs of P elements (row_quant.cuh).
template <typename T, int P>
__global__ void transform_quant_rows(const T* __restrict__ x, T* __restrict__ y, TransformQuantShape s, QuantArgs q) {
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ float shared[32];
  float* work = reinterpret_cast<float*>(smem);
  const int64_t width = s.m * s.p, packs = width / P;
  const int tid = threadIdx.x, threads = blockDim.x;
  const T* in = x + blockIdx.x * width;
  T* out = y + blockIdx.x * width;
#pragma unroll 4
  for (int64_t i = tid; i < packs; i += threads) {
    float v[P];
    load_elements<T, P>(in, i, v);
#pragma unroll
    for (int k = 0; k < P; ++k) work[i * P + k] = v[k];
  }
  __syncthreads();
  if (s.butterfly) {
    // Pairs (i, i + h) inside blocks of 2h of each piece of p become (a + b,
    // a - b). p and h are powers of two: the pair's index by shifts and masks
    // (a 64-bit division per pair would cost more than the pass itself).
    const int p = static_cast<int>(s.p), log2_half = __ffs(p) - 2, pairs = static_cast<int>(width / 2);
    for (int h = 1; h < p; h <<= 1) {
      for (int t = tid; t < pairs; t += threads) {
        const int j = t & ((p >> 1) - 1);
        const int i0 = ((t >> log2_half) * p) + ((j & ~(h - 1)) << 1) + (j & (h - 1));
        const float a = work[i0], b = work[i0 + h];
        work[i0] = __fadd_rn(a, b);
        work[i0 + h] = __fsub_rn(a, b);
      }
      __syncthreads();
    }
    for (int64_t i = tid; i < width; i += threads) work[i] = round_to<T>(__fmul_rn(work[i], s.power_scale));
    __syncthreads();
  }
  if constexpr (kTensorCores<T>) {
    if (s.outer) {
      const int64_t held = s.outer_padded * s.p;
      T* tiles = reinterpret_cast<T*>(work + held);
      for (int64_t i = tid; i < held; i += threads) store(tiles + i, i < width ? work[i] : 0.f);
      __syncthreads();
      outer_product(static_cast<const T*>(s.outer), tiles, work, s.outer_padded / kTile, s.p);
      __syncthreads();
      for (int64_t i = tid; i < width; i += threads) work[i] = round_to<T>(work[i]);
      __syncthreads();
    }
  }
  if (!s.quantize) {
#pragma unroll 4
    for (int64_t i = tid; i < packs; i += threads) {
      float v[P];
#pragma unroll
      for (int k = 0; k < P; ++k) v[k] = work[i * P + k];
      store_elements<T, P>(out, i, v);
    }
    return;
  }
  RowRange range;
  for (int64_t i = tid; i < width; i += threads) range.add(work[i], q.symmetric);
  const RowGrid g = block_row_grid(range, q, shared);
#pragma unroll 4
  for (int64_t i = tid; i < packs; i += threads) {
    float v[P];
#pragma unroll
    for (int k = 0; k < P; ++k) v[k] = fake_quant_value(work[i * P + k], g, q);
    store_elements<T, P>(out, i, v);
  }
}

// Lets transform_quant_rows<T, P> take up to `bytes` of dynamic shared memory
// on `device`, once per kernel and device: not again inside a CUDA-graph
// capture (a decode step), which the first, eager forward precedes.
template <typename T, int P>
void allow_shared_memory(int device, int bytes) {
  static uint64_t done = 0;   // a bit per device; setting it twice is harmless
  const uint64_t bit = uint64_t{1} << (device % 64);
  if (done & bit) return;
  cudaFuncSetAttribute(transform_quant_rows<T, P>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  done |= bit;
}

}  // namespace

bool launch_transform_quant(const void* x, void* y, const TransformQuantShape& s, const QuantArgs& q, Dtype dtype,
                            void* stream) {
  if (s.rows == 0 || s.m * s.p == 0) return true;
  bool launched = false;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    if (s.outer && (!kTensorCores<T> || s.p % kTile != 0 || s.outer_padded % kTile != 0 || s.outer_padded < s.m))
      return;
    const int64_t held = (s.outer ? s.outer_padded : s.m) * s.p;
    const size_t bytes = static_cast<size_t>(held) * (sizeof(float) + (s.outer ? sizeof(T) : 0));
    int device = 0, limit = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
    if (bytes + 32 * sizeof(float) > static_cast<size_t>(limit)) return;
    constexpr int P = kPack<T>;
    const bool packed = packs_fit(x, y, s.m * s.p, sizeof(T));
    auto kernel = packed ? transform_quant_rows<T, P> : transform_quant_rows<T, 1>;
    if (bytes > 48 * 1024) {
      const int most = limit - static_cast<int>(32 * sizeof(float));   // beside the kernel's static array
      packed ? allow_shared_memory<T, P>(device, most) : allow_shared_memory<T, 1>(device, most);
    }
    kernel<<<static_cast<unsigned>(s.rows), row_threads(s.m * s.p / (packed ? P : 1)), bytes,
             static_cast<cudaStream_t>(stream)>>>(static_cast<const T*>(x), static_cast<T*>(y), s, q);
    launched = true;
  });
  if (launched) check_launch("transform-quant kernel");
  return launched;
}

}  // namespace qlab::cuda
