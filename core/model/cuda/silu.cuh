// silu(gate) * up as LibTorch's two CUDA ops give it: silu in float32,
// rounded to T as torch::silu stores it, times up (the caller rounds the
// product to T where it stores it). One definition for the kernels that
// must give that result bit for bit (silu_mul.cu, down_input.cu).
#pragma once
#include <cmath>

#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {

template <typename T>
__device__ inline float silu_times(float gate, float up) {
  return __fmul_rn(round_to<T>(gate / (1.0f + expf(-gate))), up);
}

}  // namespace qlab::cuda
