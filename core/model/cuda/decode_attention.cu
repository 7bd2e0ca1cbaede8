#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/element.cuh"

#include <type_traits>

namespace qlab::cuda {
namespace {

constexpr int kWarps = 4;      // per block, each over every kWarps-th key of the block's chunk

// One block per (row, kv head, chunk of keys). Lane l of a warp holds
// elements l, l + 32, ... of q, of each key and value, and of its output, so
// that a warp reads a key as contiguous 64-byte pieces. Per query head the
// warp keeps the running maximum score m, the sum l of exp(score - m) and
// the exp-weighted sum of values (the online softmax); the block's warps and
// then the chunks are combined by rescaling to a common maximum. kMaxRep
// bounds the query heads per kv head (loops over them run to it with a test,
// so that the arrays stay in registers, as few as the model needs: registers
// set how many blocks an SM holds, and so how many loads are in flight).
template <typename T, int EPT, int kMaxRep>
__global__ void attend_chunk(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                             const bool* __restrict__ allowed, const int64_t* __restrict__ last_key,
                             float* __restrict__ partial, float* __restrict__ stats, DecodeAttentionShape s,
                             int64_t chunk) {
  constexpr int D = EPT * 32;
  __shared__ float warp_m[kWarps][kMaxRep], warp_l[kWarps][kMaxRep], warp_acc[kWarps][kMaxRep][EPT * 32];
  const int64_t row_head = blockIdx.x, split = blockIdx.y;   // row_head = b * KV + kv head
  const int64_t b = row_head / s.KV, kv_head = row_head % s.KV;
  const int rep = int(s.H / s.KV), warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t keys = *last_key + 1;
  const int64_t first = split * chunk, end = min(keys, first + chunk);

  float qv[kMaxRep][EPT], acc[kMaxRep][EPT], m[kMaxRep], l[kMaxRep];
#pragma unroll
  for (int h = 0; h < kMaxRep; ++h) {
    if (h >= rep) break;
    const T* qh = q + b * s.q_stride_b + (kv_head * rep + h) * s.q_stride_h;
    for (int e = 0; e < EPT; ++e) {
      qv[h][e] = load(qh + e * 32 + lane);
      acc[h][e] = 0.f;
    }
    m[h] = -INFINITY;
    l[h] = 0.f;
  }
  const T* kb = k + row_head * s.C * D;
  const T* vb = v + row_head * s.C * D;
  for (int64_t j = first + warp; j < end; j += kWarps) {
    if (allowed && !allowed[b * s.C + j]) continue;
    float kj[EPT], vj[EPT];
    for (int e = 0; e < EPT; ++e) {
      kj[e] = load(kb + j * D + e * 32 + lane);
      vj[e] = load(vb + j * D + e * 32 + lane);
    }
#pragma unroll
    for (int h = 0; h < kMaxRep; ++h) {
      if (h >= rep) break;
      float dot = 0.f;
      for (int e = 0; e < EPT; ++e) dot += qv[h][e] * kj[e];
      for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
      const float score = dot * s.scale, m_new = fmaxf(m[h], score);
      const float rescale = expf(m[h] - m_new), p = expf(score - m_new);
      l[h] = l[h] * rescale + p;
      for (int e = 0; e < EPT; ++e) acc[h][e] = acc[h][e] * rescale + p * vj[e];
      m[h] = m_new;
    }
  }
#pragma unroll
  for (int h = 0; h < kMaxRep; ++h) {
    if (h >= rep) break;
    if (lane == 0) {
      warp_m[warp][h] = m[h];
      warp_l[warp][h] = l[h];
    }
    for (int e = 0; e < EPT; ++e) warp_acc[warp][h][e * 32 + lane] = acc[h][e];
  }
  __syncthreads();
  const int64_t out_at = (row_head * s.splits + split) * rep;
  for (int i = threadIdx.x; i < rep * D; i += blockDim.x) {
    const int h = i / D, d = i % D;
    float top = -INFINITY;
    for (int w = 0; w < kWarps; ++w) top = fmaxf(top, warp_m[w][h]);
    float sum = 0.f, weighted = 0.f;
    if (top > -INFINITY)
      for (int w = 0; w < kWarps; ++w) {
        if (warp_m[w][h] == -INFINITY) continue;   // a warp that saw no key
        const float f = expf(warp_m[w][h] - top);
        sum += warp_l[w][h] * f;
        weighted += warp_acc[w][h][d] * f;
      }
    partial[(out_at + h) * D + d] = weighted;
    if (d == 0) {
      stats[(out_at + h) * 2] = top;
      stats[(out_at + h) * 2 + 1] = sum;
    }
  }
}

// One block per (row, query head), a thread per element.
template <typename T>
__global__ void combine_chunks(const float* __restrict__ partial, const float* __restrict__ stats,
                               T* __restrict__ out, DecodeAttentionShape s) {
  const int64_t b = blockIdx.x / s.H, head = blockIdx.x % s.H;
  const int64_t rep = s.H / s.KV, row_head = b * s.KV + head / rep, h = head % rep;
  const int64_t d = threadIdx.x;
  float top = -INFINITY;
  for (int64_t c = 0; c < s.splits; ++c) top = fmaxf(top, stats[((row_head * s.splits + c) * rep + h) * 2]);
  float sum = 0.f, weighted = 0.f;
  for (int64_t c = 0; c < s.splits && top > -INFINITY; ++c) {
    const int64_t at = (row_head * s.splits + c) * rep + h;
    if (stats[at * 2] == -INFINITY) continue;   // a chunk past the last key, or all of it masked
    const float f = expf(stats[at * 2] - top);
    sum += stats[at * 2 + 1] * f;
    weighted += partial[at * s.D + d] * f;
  }
  store(out + blockIdx.x * s.D + d, sum > 0.f ? weighted / sum : 0.f);
}

template <typename T, int EPT, int MaxRep>
void launch(const void* q, const void* k, const void* v, const bool* allowed, const int64_t* last_key,
            float* partial, float* stats, void* out, const DecodeAttentionShape& s, cudaStream_t stream) {
  const int64_t chunk = (s.C + s.splits - 1) / s.splits;
  attend_chunk<T, EPT, MaxRep><<<dim3(unsigned(s.B * s.KV), unsigned(s.splits)), kWarps * 32, 0, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), allowed, last_key, partial,
      stats, s, chunk);
  combine_chunks<T><<<unsigned(s.B * s.H), unsigned(s.D), 0, stream>>>(partial, stats, static_cast<T*>(out), s);
}

}  // namespace

void launch_decode_attention(const void* q, const void* k, const void* v, const bool* allowed,
                             const int64_t* last_key, float* partial, float* stats, void* out,
                             const DecodeAttentionShape& s, Dtype dtype, void* stream) {
  if (s.B == 0) return;
  const int64_t rep = s.H % s.KV == 0 ? s.H / s.KV : 0;
  if ((s.D != 64 && s.D != 128) || rep < 1 || rep > 8)
    throw std::invalid_argument("decode attention kernel: head_dim must be 64 or 128, and 1 to 8 query heads "
                                "per kv head");
  auto st = static_cast<cudaStream_t>(stream);
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    auto go = [&](auto ept) {
      constexpr int EPT = decltype(ept)::value;
      if (rep == 1) launch<T, EPT, 1>(q, k, v, allowed, last_key, partial, stats, out, s, st);
      else if (rep == 2) launch<T, EPT, 2>(q, k, v, allowed, last_key, partial, stats, out, s, st);
      else if (rep <= 4) launch<T, EPT, 4>(q, k, v, allowed, last_key, partial, stats, out, s, st);
      else launch<T, EPT, 8>(q, k, v, allowed, last_key, partial, stats, out, s, st);
    };
    if (s.D == 64) go(std::integral_constant<int, 2>{});
    else go(std::integral_constant<int, 4>{});
  });
  check_launch("decode attention kernel");
}

}  // namespace qlab::cuda
