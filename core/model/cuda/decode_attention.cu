// One-query attention over the fixed-shape cache: a decode step reads every
// written key and value once and does two multiply-adds per element read, so
// its time is the cache's bytes over the memory bandwidth, and the design is
// about keeping enough loads in flight:
//
// - A key (or value) row is read as 16-byte packs, one per lane of a group of
//   D / 8 lanes (bf16), so that a load instruction moves 16 bytes per lane;
//   the block's groups take different keys.
// - Keys come in tiles of 8 per group (64 at bf16, D 128). Each thread issues
//   the loads of all its keys and values of a tile before it uses any (16
//   independent loads), so that one memory round trip serves the whole tile.
// - The tile's scores go to shared memory; the softmax is rescaled once per
//   tile, not per key, and every warp computes the tile's maximum and sum
//   itself (two shuffle trees), so that no warp waits for another.
// - The grid is fixed by the shapes (a CUDA graph replays it), yet its splits
//   of a row's keys are balanced over the keys written so far, read on the
//   device: every block works at every length, and a split count of one (a
//   large batch has blocks enough) writes the output without a combine.
// - The groups' partial sums meet in shared memory in a layout padded so that
//   a warp's stores and loads hit 32 different banks; the splits are combined
//   by one warp per output head (a shuffle tree over at most 32 splits).
#include "core/model/cuda/model_kernels.h"
#include "core/quant/cuda/element.cuh"

#include <algorithm>
#include <type_traits>

namespace qlab::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kKeysPerGroup = 8;   // per tile: the loads a thread has in flight (a key and a value each)
constexpr int kMaxSplits = 32;     // one lane per split in the combine
constexpr float kLog2e = 1.4426950408889634f;   // scores in base 2, so that exp is exp2f

__device__ inline float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ inline float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Keys per split once `keys` are written: the one formula the blocks and the
// combine share.
__device__ inline int split_length(int keys, int splits) { return (keys + splits - 1) / splits; }

// One block per (row, kv head, split). Lane c of a group of L lanes holds
// elements c*P .. c*P+P-1 of q, of each key and value, and of its sums; the
// G groups take keys g, g+G, ... of a tile. kMaxRep bounds the query heads
// per kv head (loops over them run to it with a test, so that the arrays stay
// in registers, as few as the model needs: registers set how many blocks an
// SM holds, and so how many loads are in flight).
template <typename T, int D, int kMaxRep>
__global__ void __launch_bounds__(kThreads)
    attend(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
           const bool* __restrict__ allowed, const int64_t* __restrict__ last_key, float* __restrict__ partial,
           float* __restrict__ stats, T* __restrict__ out, DecodeAttentionShape s) {
  constexpr int P = kPack<T>;        // elements per 16-byte load
  constexpr int L = D / P;           // lanes per key
  constexpr int G = kThreads / L;    // keys read side by side
  constexpr int N = kKeysPerGroup;
  constexpr int kTile = G * N;       // keys whose scores the block holds at once
  constexpr int S = kTile / 32;      // scores per lane in the tile's maximum and sum
  static_assert(32 % L == 0 && kTile % 32 == 0, "a key's lanes lie in one warp");
  __shared__ float score[kMaxRep][kTile];
  // Group g's sums of element (h, e, c) at [g][h*D + e*L + c]: the L-float
  // pad puts the groups of one warp in different banks.
  __shared__ float merge[G][kMaxRep * D + L];
  __shared__ float row_stats[kMaxRep][2];   // running maximum (base 2) and sum of exp2 per head

  const int KV = int(s.KV), C = int(s.C), splits = int(s.splits), rep = int(s.H / s.KV);
  const int row_head = blockIdx.x, split = blockIdx.y;   // row_head = b * KV + kv head
  const int b = row_head / KV, kv_head = row_head % KV;
  const int g = threadIdx.x / L, c = threadIdx.x % L, lane = threadIdx.x % 32;
  const int keys = int(*last_key) + 1, per = split_length(keys, splits);
  const int first = split * per, end = min(keys, first + per);
  if (first >= end) return;   // nothing written there yet; the combine skips it too

  float qf[kMaxRep][P], acc[kMaxRep][P], m[kMaxRep], l[kMaxRep];
  const float q_scale = s.scale * kLog2e;
#pragma unroll
  for (int h = 0; h < kMaxRep; ++h) {
    if (h >= rep) break;
    unpack<T>(load_pack(q + b * s.q_stride_b + (kv_head * rep + h) * s.q_stride_h + c * P), qf[h]);
#pragma unroll
    for (int e = 0; e < P; ++e) {
      qf[h][e] *= q_scale;
      acc[h][e] = 0.f;
    }
    m[h] = -INFINITY;
    l[h] = 0.f;
  }
  const T* kb = k + int64_t(row_head) * C * D + c * P;
  const T* vb = v + int64_t(row_head) * C * D + c * P;
  const bool* row_allowed = allowed ? allowed + int64_t(b) * C : nullptr;

  for (int tile = first; tile < end; tile += kTile) {
    // A written key is loaded whether the mask allows it or not: waiting for
    // the mask first would add its latency to every tile, and a row masks a
    // few padding positions at most. A masked key's score is -inf and its
    // value is skipped, so not even a NaN there can reach the output.
    uint4 kr[N], vr[N];
    unsigned live = 0;   // bit i: key tile + g + i*G is written and allowed
#pragma unroll
    for (int i = 0; i < N; ++i) {
      const int j = tile + g + i * G;
      kr[i] = vr[i] = make_uint4(0, 0, 0, 0);
      if (j < end) {
        kr[i] = load_pack(kb + j * D);
        vr[i] = load_pack(vb + j * D);
        if (!row_allowed || row_allowed[j]) live |= 1u << i;
      }
    }
#pragma unroll
    for (int i = 0; i < N; ++i) {
      float kf[P];
      unpack<T>(kr[i], kf);
#pragma unroll
      for (int h = 0; h < kMaxRep; ++h) {
        if (h >= rep) break;
        float dot = 0.f;
#pragma unroll
        for (int e = 0; e < P; ++e) dot += qf[h][e] * kf[e];
#pragma unroll
        for (int o = L / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        if (c == 0) score[h][g + i * G] = (live >> i) & 1u ? dot : -INFINITY;
      }
    }
    __syncthreads();
#pragma unroll
    for (int h = 0; h < kMaxRep; ++h) {
      if (h >= rep) break;
      float sc[S], top = -INFINITY;
#pragma unroll
      for (int i = 0; i < S; ++i) top = fmaxf(top, sc[i] = score[h][lane + 32 * i]);
      const float m_new = fmaxf(m[h], warp_max(top));
      if (m_new == -INFINITY) continue;   // no allowed key yet: nothing to add or rescale
      const float rescale = exp2f(m[h] - m_new);
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < S; ++i) sum += exp2f(sc[i] - m_new);
      l[h] = l[h] * rescale + warp_sum(sum);
      m[h] = m_new;
#pragma unroll
      for (int e = 0; e < P; ++e) acc[h][e] *= rescale;
    }
#pragma unroll
    for (int i = 0; i < N; ++i) {
      if (!((live >> i) & 1u)) continue;
      float vf[P];
      unpack<T>(vr[i], vf);
#pragma unroll
      for (int h = 0; h < kMaxRep; ++h) {
        if (h >= rep) break;
        const float p = exp2f(score[h][g + i * G] - m[h]);
#pragma unroll
        for (int e = 0; e < P; ++e) acc[h][e] += p * vf[e];
      }
    }
    __syncthreads();   // the next tile rewrites the scores
  }

#pragma unroll
  for (int h = 0; h < kMaxRep; ++h) {
    if (h >= rep) break;
#pragma unroll
    for (int e = 0; e < P; ++e) merge[g][h * D + e * L + c] = acc[h][e];
    if (threadIdx.x == 0) {   // every thread holds the same m and l
      row_stats[h][0] = m[h];
      row_stats[h][1] = l[h];
    }
  }
  __syncthreads();
  const int64_t at = (int64_t(row_head) * splits + split) * rep;   // this split's first head record
  for (int i = threadIdx.x; i < rep * D; i += kThreads) {
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < G; ++w) sum += merge[w][i];
    const int h = i / D, r = i % D, d = (r % L) * P + r / L;
    if (splits == 1) {
      const float total = row_stats[h][1];
      store(out + (int64_t(b) * s.H + kv_head * rep + h) * D + d, total > 0.f ? sum / total : 0.f);
    } else {
      partial[(at + h) * D + d] = sum;
    }
  }
  if (splits > 1 && threadIdx.x < rep) {
    stats[(at + threadIdx.x) * 2] = row_stats[threadIdx.x][0];
    stats[(at + threadIdx.x) * 2 + 1] = row_stats[threadIdx.x][1];
  }
}

// One block per (row, query head), a thread per element; its first warp
// weighs the splits (lane i: split i), every thread then sums its element.
template <typename T>
__global__ void combine_splits(const float* __restrict__ partial, const float* __restrict__ stats,
                               const int64_t* __restrict__ last_key, T* __restrict__ out, DecodeAttentionShape s) {
  __shared__ float weight[kMaxSplits];
  const int H = int(s.H), D = int(s.D), splits = int(s.splits), rep = int(s.H / s.KV);
  const int b = blockIdx.x / H, head = blockIdx.x % H;
  const int64_t row_head = int64_t(b) * s.KV + head / rep, h = head % rep;
  const int keys = int(*last_key) + 1, per = split_length(keys, splits);
  const int active = (keys + per - 1) / per;   // the splits whose blocks found keys
  if (threadIdx.x < 32) {
    const int i = threadIdx.x;
    const int64_t at = (row_head * splits + i) * rep + h;
    const float m = i < active ? stats[at * 2] : -INFINITY;   // -inf too where all its keys are masked
    const float top = warp_max(m);
    const float f = m == -INFINITY ? 0.f : exp2f(m - top);
    const float total = warp_sum(f == 0.f ? 0.f : f * stats[at * 2 + 1]);
    weight[i] = total > 0.f ? f / total : 0.f;
  }
  __syncthreads();
  const int d = threadIdx.x;
  float sum = 0.f;
  for (int i = 0; i < active; ++i) sum += weight[i] * partial[((row_head * splits + i) * rep + h) * D + d];
  store(out + int64_t(blockIdx.x) * D + d, sum);
}

template <typename T, int D, int MaxRep>
void launch(const void* q, const void* k, const void* v, const bool* allowed, const int64_t* last_key,
            float* partial, float* stats, void* out, const DecodeAttentionShape& s, cudaStream_t stream) {
  attend<T, D, MaxRep><<<dim3(unsigned(s.B * s.KV), unsigned(s.splits)), kThreads, 0, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), allowed, last_key, partial,
      stats, static_cast<T*>(out), s);
  if (s.splits > 1)
    combine_splits<T><<<unsigned(s.B * s.H), unsigned(D), 0, stream>>>(partial, stats, last_key,
                                                                      static_cast<T*>(out), s);
}

}  // namespace

int64_t decode_attention_splits(int64_t rows_heads, int64_t capacity) {
  int device = 0, sms = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  // As many blocks as the SMs hold at once (four each, at the registers of one
  // query head per kv head), so that a small batch takes one round of memory
  // latency; a large batch has them with one split (no combine), a small one
  // splits each row's keys, down to 16 keys a split.
  const int64_t wanted = 4 * int64_t(std::max(sms, 1)) / rows_heads;
  return std::max<int64_t>(1, std::min<int64_t>({wanted, (capacity + 15) / 16, kMaxSplits}));
}

void launch_decode_attention(const void* q, const void* k, const void* v, const bool* allowed,
                             const int64_t* last_key, float* partial, float* stats, void* out,
                             const DecodeAttentionShape& s, Dtype dtype, void* stream) {
  if (s.B == 0) return;
  const int64_t rep = s.H % s.KV == 0 ? s.H / s.KV : 0;
  if ((s.D != 64 && s.D != 128) || rep < 1 || rep > 8 || s.splits < 1 || s.splits > kMaxSplits ||
      s.B * s.KV > (int64_t(1) << 31) - 1 || s.C * s.D > (int64_t(1) << 31) - 1)
    throw std::invalid_argument("decode attention kernel: head_dim must be 64 or 128, 1 to 8 query heads per kv "
                                "head, 1 to 32 splits");
  auto st = static_cast<cudaStream_t>(stream);
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    auto go = [&](auto head_dim) {
      constexpr int D = decltype(head_dim)::value;
      if (rep == 1) launch<T, D, 1>(q, k, v, allowed, last_key, partial, stats, out, s, st);
      else if (rep == 2) launch<T, D, 2>(q, k, v, allowed, last_key, partial, stats, out, s, st);
      else if (rep <= 4) launch<T, D, 4>(q, k, v, allowed, last_key, partial, stats, out, s, st);
      else launch<T, D, 8>(q, k, v, allowed, last_key, partial, stats, out, s, st);
    };
    if (s.D == 64) go(std::integral_constant<int, 64>{});
    else go(std::integral_constant<int, 128>{});
  });
  check_launch("decode attention kernel");
}

}  // namespace qlab::cuda
