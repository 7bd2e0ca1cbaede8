// What every qlab CUDA kernel needs about elements: loads and stores between
// the model's dtypes and float32 (round to nearest even, as LibTorch's ops
// store), the value an op in T would store, and the dtype switch of a launcher.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "core/quant/cuda/fake_quant_kernel.h"

namespace qlab::cuda {

__device__ inline float load(const float* p) { return *p; }
__device__ inline float load(const __half* p) { return __half2float(*p); }
__device__ inline float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ inline void store(float* p, float v) { *p = v; }
__device__ inline void store(__half* p, float v) { *p = __float2half_rn(v); }
__device__ inline void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// v rounded to T and read back: what an elementwise LibTorch op in T stores.
template <typename T>
__device__ inline float round_to(float v) {
  T t;
  store(&t, v);
  return load(&t);
}

// Calls f(T{}) with T the element type of `dtype`.
template <typename F>
void with_element_type(Dtype dtype, F&& f) {
  switch (dtype) {
    case Dtype::Float32: f(float{}); break;
    case Dtype::Float16: f(__half{}); break;
    case Dtype::BFloat16: f(__nv_bfloat16{}); break;
  }
}

inline void check_launch(const char* what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

}  // namespace qlab::cuda
