// What the fake-quantizing kernels share (fake_quant.cu, transform_quant.cu):
// a row's range gathered by a block, its grid, and one value's
// quantize-dequantize, in the float32 arithmetic of the LibTorch ops
// (fake_quant_kernel.h says which).
#pragma once
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

// The grid of the row whose parts the block's threads hold (every thread calls it).
__device__ inline RowGrid block_row_grid(RowRange r, const QuantArgs& q, float* shared) {
  const float hi = block_max(r.hi, shared);
  RowGrid g;
  if (q.symmetric) {
    g.scale = __fmul_rn(hi, q.mult);
    if (!(g.scale > 0.f)) g.scale = 1.f;
    g.zero = q.sym_zero;
  } else {
    const float lo = -block_max(r.neg_lo, shared);
    g.scale = __fmul_rn(__fsub_rn(hi, lo), q.mult);
    if (!(g.scale > 0.f)) g.scale = 1.f;
    g.zero = rintf(__fdiv_rn(__fmul_rn(-lo, q.factor), g.scale));
  }
  return g;
}

__device__ inline float fake_quant_value(float v, const RowGrid& g, const QuantArgs& q) {
  const float code = fminf(fmaxf(__fadd_rn(rintf(__fdiv_rn(v, g.scale)), g.zero), q.qmin), q.qmax);
  return __fmul_rn(__fsub_rn(code, g.zero), g.scale);
}

// Threads per block of a row kernel: 256 for long rows; a row of a few
// hundred entries (one head's keys or values) gets a warp or a few, about
// four entries a thread, rather than a block that is mostly idle.
inline unsigned row_threads(int64_t width) {
  const int64_t want = (width / 4 + 31) / 32 * 32;
  return static_cast<unsigned>(want < 32 ? 32 : want > 256 ? 256 : want);
}

}  // namespace qlab::cuda
