// What every qlab CUDA kernel needs about elements: loads and stores between
// the model's dtypes and float32 (round to nearest even, as LibTorch's ops
// store), one at a time or in 16-byte packs, the value an op in T would
// store, and the dtype switch of a launcher.
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

// 16 bytes of elements (8 of bf16 or half, 4 of float), moved by one
// instruction: a kernel that streams memory reads and writes in these packs,
// as a scalar element per load leaves most of the memory bandwidth unused.
// The pointer must be 16-byte aligned.
template <typename T>
constexpr int kPack = 16 / sizeof(T);

template <typename T>
__device__ inline uint4 load_pack(const T* p) {
  return *reinterpret_cast<const uint4*>(p);
}

template <typename T>
__device__ inline void unpack(const uint4& raw, float (&f)[kPack<T>]) {
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < kPack<T>; ++i) f[i] = load(e + i);
}

template <typename T>
__device__ inline void store_pack(T* p, const float (&f)[kPack<T>]) {
  uint4 raw;
  T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < kPack<T>; ++i) store(e + i, f[i]);
  *reinterpret_cast<uint4*>(p) = raw;
}

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
