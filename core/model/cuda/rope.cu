#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/butterfly.cuh"
#include "core/quant/cuda/element.cuh"
#include "core/quant/cuda/row_quant.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

// W elements of T from p as float32: one 16-byte pack where W is a pack,
// else one at a time.
template <typename T, int W>
__device__ inline void load_n(const T* p, float (&f)[W]) {
  if constexpr (W == kPack<T>) {
    unpack<T>(load_pack(p), f);
  } else {
#pragma unroll
    for (int e = 0; e < W; ++e) f[e] = load(p + e);
  }
}

template <typename T, int W>
__device__ inline void store_n(T* p, const float (&f)[W]) {
  if constexpr (W == kPack<T>) {
    store_pack(p, f);
  } else {
#pragma unroll
    for (int e = 0; e < W; ++e) store(p + e, f[e]);
  }
}

// A thread per W elements of a head's first half and the W they pair with in
// the second (rotate_half pairs d with d + D/2), so that x is read once and in
// packs where the strides allow (W = kPack<T>, else 1). The element index is
// split in 32-bit arithmetic (the launcher checks it fits): on the GPU a
// 64-bit division is a long software routine, and a decode step at batch 130
// spent more time there than on memory. kOps: the head ops follow, the D / 2W
// threads of a head (consecutive lanes) holding its row between them
// (butterfly.cuh's layout: the first half's packs, then the second's).
template <typename T, int W, bool kOps>
__global__ void rope(const T* __restrict__ x, const T* __restrict__ cos, const T* __restrict__ sin, T* __restrict__ y,
                     RopeShape s, HeadOps ops, unsigned threads) {
  const unsigned i = blockIdx.x * kThreads + threadIdx.x;
  if (i >= threads) return;   // whole heads: a head's lanes stay together for the shuffles
  const unsigned half = unsigned(s.D) / 2, per_head = half / W, len = unsigned(s.T), H = unsigned(s.H);
  const unsigned d = (i % per_head) * W, row = i / per_head, t = row % len, h = (row / len) % H, b = row / len / H;
  const int64_t at = b * s.stride_b + h * s.stride_h + t * s.stride_t + d;
  const int64_t y_at = b * s.y_stride_b + h * s.y_stride_h + t * s.y_stride_t + d;
  const unsigned c = ((s.cos_batch == 1 ? 0u : b) * len + t) * unsigned(s.D) + d;
  float lo[W], hi[W], cos_lo[W], cos_hi[W], sin_lo[W], sin_hi[W], out[2][W];
  load_n<T, W>(x + at, lo);
  load_n<T, W>(x + at + half, hi);
  load_n<T, W>(cos + c, cos_lo);
  load_n<T, W>(cos + c + half, cos_hi);
  load_n<T, W>(sin + c, sin_lo);
  load_n<T, W>(sin + c + half, sin_hi);
#pragma unroll
  for (int e = 0; e < W; ++e) {
    // _rn: no contraction into a fused multiply-add, which the three ops never do.
    out[0][e] = __fadd_rn(round_to<T>(__fmul_rn(lo[e], cos_lo[e])), round_to<T>(__fmul_rn(-hi[e], sin_lo[e])));
    out[1][e] = __fadd_rn(round_to<T>(__fmul_rn(hi[e], cos_hi[e])), round_to<T>(__fmul_rn(lo[e], sin_hi[e])));
  }
  if constexpr (kOps) {
    const int team = int(per_head);
    const unsigned mask = team_mask(team);
    if (ops.hadamard) {
#pragma unroll
      for (int k = 0; k < 2; ++k)
#pragma unroll
        for (int e = 0; e < W; ++e) out[k][e] = round_to<T>(out[k][e]);   // what rope stores
      butterfly<W, 2>(out, team, mask);
#pragma unroll
      for (int k = 0; k < 2; ++k)
#pragma unroll
        for (int e = 0; e < W; ++e) out[k][e] = __fmul_rn(out[k][e], ops.scale);
    }
    if (ops.quant) {
      RowRange range;
#pragma unroll
      for (int k = 0; k < 2; ++k)
#pragma unroll
        for (int e = 0; e < W; ++e) range.add(out[k][e] = round_to<T>(out[k][e]), ops.q.symmetric);
      const RowGrid g = team_row_grid(range, ops.q, team, mask);
#pragma unroll
      for (int k = 0; k < 2; ++k)
#pragma unroll
        for (int e = 0; e < W; ++e) out[k][e] = fake_quant_value(out[k][e], g, ops.q);
    }
  }
  store_n<T, W>(y + y_at, out[0]);
  store_n<T, W>(y + y_at + half, out[1]);
}

template <typename T, int W, bool kOps>
void launch(const void* x, const void* cos, const void* sin, void* y, const RopeShape& s, const HeadOps& ops,
            cudaStream_t stream) {
  const unsigned threads = unsigned(s.B * s.H * s.T * (s.D / 2 / W));
  rope<T, W, kOps><<<(threads + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(cos), static_cast<const T*>(sin), static_cast<T*>(y), s, ops,
      threads);
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool launch_rope(const void* x, const void* cos, const void* sin, void* y, const RopeShape& s, const HeadOps& ops,
                 Dtype dtype, void* stream) {
  const int64_t n = s.B * s.H * s.T * s.D;
  if (s.D % 2 != 0) return false;
  if (n >= (int64_t(1) << 31) || s.cos_batch * s.T * s.D >= (int64_t(1) << 31))
    throw std::invalid_argument("rope kernel: fewer than 2^31 elements");
  const bool with_ops = ops.hadamard || ops.quant;
  bool launched = false;
  auto st = static_cast<cudaStream_t>(stream);
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    constexpr int P = kPack<T>;
    const bool packs = (s.D / 2) % P == 0 && s.stride_b % P == 0 && s.stride_h % P == 0 && s.stride_t % P == 0 &&
                       s.y_stride_b % P == 0 && s.y_stride_h % P == 0 && s.y_stride_t % P == 0 && aligned(x) &&
                       aligned(y) && aligned(cos) && aligned(sin);
    const int64_t team = s.D / 2 / P;
    if (with_ops) {
      if (!packs || team > 32 || (team & (team - 1)) != 0) return;
      if (n > 0) launch<T, P, true>(x, cos, sin, y, s, ops, st);
    } else if (n > 0) {
      if (packs) launch<T, P, false>(x, cos, sin, y, s, ops, st);
      else launch<T, 1, false>(x, cos, sin, y, s, ops, st);
    }
    launched = true;
  });
  check_launch("rope kernel");
  return launched;
}

}  // namespace qlab::cuda
