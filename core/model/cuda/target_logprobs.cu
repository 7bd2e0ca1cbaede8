#include <cmath>

#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 512;

// A running log-sum-exp: the largest logit seen and the sum of exp(logit -
// max) over the logits seen, in float64. Each logit is read once: a larger
// one rescales the sum instead of needing a pass for the max first.
struct Lse {
  double max = -INFINITY, sum = 0.0;
  __device__ void add(double x) {
    if (x <= max) {
      sum += exp(x - max);
    } else {
      sum = sum * exp(max - x) + 1.0;
      max = x;
    }
  }
  __device__ void merge(const Lse& o) {
    if (o.max == -INFINITY) return;
    if (max == -INFINITY) {
      *this = o;
      return;
    }
    const double m = fmax(max, o.max);
    sum = sum * exp(max - m) + o.sum * exp(o.max - m);
    max = m;
  }
};

__device__ Lse shuffle(const Lse& l, int offset) {
  Lse o;
  o.max = __shfl_xor_sync(0xffffffffu, l.max, offset);
  o.sum = __shfl_xor_sync(0xffffffffu, l.sum, offset);
  return o;
}

// One block per row: every thread folds a strided share of the row into its
// Lse (in 16-byte packs where the row allows), the block merges them, and
// thread 0 writes logit[target] - (max + log(sum)). A target outside the
// vocabulary gives NaN.
template <typename T, bool Packs>
__global__ void target_logprobs(const T* __restrict__ logits, const int64_t* __restrict__ targets,
                                double* __restrict__ out, int64_t vocab) {
  __shared__ double maxes[kThreads / 32], sums[kThreads / 32];
  const T* row = logits + blockIdx.x * vocab;
  Lse l;
  if constexpr (Packs) {
    constexpr int P = kPack<T>;
    for (int64_t i = int64_t(threadIdx.x) * P; i < vocab; i += int64_t(kThreads) * P) {
      float f[P];
      unpack<T>(load_pack(row + i), f);
#pragma unroll
      for (int e = 0; e < P; ++e) l.add(f[e]);
    }
  } else {
    for (int64_t i = threadIdx.x; i < vocab; i += kThreads) l.add(load(row + i));
  }
  for (int o = 16; o > 0; o >>= 1) l.merge(shuffle(l, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) maxes[warp] = l.max, sums[warp] = l.sum;
  __syncthreads();
  if (warp != 0) return;
  l = Lse{};
  if (lane < kThreads / 32) l.max = maxes[lane], l.sum = sums[lane];
  for (int o = 16; o > 0; o >>= 1) l.merge(shuffle(l, o));
  if (lane == 0) {
    const int64_t t = targets[blockIdx.x];
    out[blockIdx.x] = t >= 0 && t < vocab ? double(load(row + t)) - (l.max + log(l.sum)) : NAN;
  }
}

}  // namespace

void launch_target_logprobs(const void* logits, const int64_t* targets, double* out, int64_t rows, int64_t vocab,
                            Dtype dtype, void* stream) {
  if (rows == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    const bool packs = vocab % kPack<T> == 0 && reinterpret_cast<uintptr_t>(logits) % 16 == 0;
    const auto* x = static_cast<const T*>(logits);
    if (packs) target_logprobs<T, true><<<static_cast<unsigned>(rows), kThreads, 0, st>>>(x, targets, out, vocab);
    else target_logprobs<T, false><<<static_cast<unsigned>(rows), kThreads, 0, st>>>(x, targets, out, vocab);
  });
  check_launch("target log-probability kernel");
}

}  // namespace qlab::cuda
