// What the fake-quantizing kernels share (fake_quant.cu, rms_norm.cu):
// a row's range gathered by a block, its grid, and one value's
// quantize-dequantize, in the float32 arithmetic of the LibTorch ops
// (fake_quant_kernel.h says which).
#pragma once
#include <cstdint>

#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {

// Block-wide max of v, every thread getting the result; blockDim.x a
// multiple of 32, `shared` 32 floats.
__device__ inline float block_max(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? shared[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();   // shared is reused by the next reduction
  return v;
}

// A thread's part of a row's range, which always includes 0 (quantizer.cpp's
// grid_from_range): max(x) (max|x| when symmetric) and -min(x).
struct RowRange {
  float hi = 0.f, neg_lo = 0.f;
  __device__ void add(float v, bool symmetric) {
    hi = fmaxf(hi, symmetric ? fabsf(v) : v);
    neg_lo = fmaxf(neg_lo, -v);
  }
};

struct RowGrid {
  float scale, zero;
};

// The grid of a row from its range: max(x) (max|x| when symmetric) and min(x), both including 0.
__device__ inline RowGrid row_grid(float hi, float lo, const QuantArgs& q) {
  RowGrid g;
  if (q.symmetric) {
    g.scale = __fmul_rn(hi, q.mult);
    if (!(g.scale > 0.f)) g.scale = 1.f;
    g.zero = q.sym_zero;
  } else {
    g.scale = __fmul_rn(__fsub_rn(hi, lo), q.mult);
    if (!(g.scale > 0.f)) g.scale = 1.f;
    g.zero = rintf(__fdiv_rn(__fmul_rn(-lo, q.factor), g.scale));
  }
  return g;
}

// The grid of the row whose parts the block's threads hold (every thread calls it).
__device__ inline RowGrid block_row_grid(RowRange r, const QuantArgs& q, float* shared) {
  const float hi = block_max(r.hi, shared);
  const float lo = q.symmetric ? 0.f : -block_max(r.neg_lo, shared);
  return row_grid(hi, lo, q);
}

// Max over a team of lanes (`team` a power of two <= 32, aligned to it; mask its lanes).
__device__ inline float team_max(float v, int team, unsigned mask) {
  for (int o = team / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(mask, v, o));
  return v;
}

// The same when a team of lanes (a warp: team 32) holds the row.
__device__ inline RowGrid team_row_grid(RowRange r, const QuantArgs& q, int team = 32, unsigned mask = 0xffffffffu) {
  return row_grid(team_max(r.hi, team, mask), q.symmetric ? 0.f : -team_max(r.neg_lo, team, mask), q);
}

__device__ inline float fake_quant_value(float v, const RowGrid& g, const QuantArgs& q) {
  const float code = fminf(fmaxf(__fadd_rn(rintf(__fdiv_rn(v, g.scale)), g.zero), q.qmin), q.qmax);
  return __fmul_rn(__fsub_rn(code, g.zero), g.scale);
}

// Elements i P .. i P + P - 1 of a row as floats, and back: with P = kPack<T>
// one 16-byte pack (element.cuh), with P = 1 one element (rows whose starts
// are not 16-byte aligned).
template <typename T, int P>
__device__ inline void load_elements(const T* row, int64_t i, float (&v)[P]) {
  if constexpr (P == 1) v[0] = load(row + i);
  else unpack<T>(load_pack(row + i * P), v);
}
template <typename T, int P>
__device__ inline void store_elements(T* row, int64_t i, const float (&v)[P]) {
  if constexpr (P == 1) store(row + i, v[0]);
  else store_pack(row + i * P, v);
}

// Whether rows of `width` elements of T at x and y can be read and written in
// 16-byte packs: every row start 16-byte aligned.
inline bool packs_fit(const void* x, const void* y, int64_t width, size_t element_size) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return (width * static_cast<int64_t>(element_size)) % 16 == 0 && aligned(x) && aligned(y);
}

// Threads per block of a kernel with one block per row of `accesses` loads:
// 256 for long rows, fewer (a warp or a few, about two loads a thread) for
// short ones rather than a block that is mostly idle.
inline unsigned row_threads(int64_t accesses) {
  const int64_t want = (accesses / 2 + 31) / 32 * 32;
  return static_cast<unsigned>(want < 32 ? 32 : want > 256 ? 256 : want);
}

}  // namespace qlab::cuda
