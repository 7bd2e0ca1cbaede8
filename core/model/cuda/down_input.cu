#include "core/model/cuda/model_kernels.h"
#include "core/model/cuda/silu.cuh"
#include "core/quant/cuda/butterfly.cuh"
#include "core/quant/cuda/element.cuh"
#include "core/quant/cuda/row_quant.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

// Elements between the starts of two staged rows of `width`: the smallest at
// least `width` whose bytes are an odd number of 4-byte words, so that a
// column read (one element of each of 32 rows) touches every shared-memory
// bank once.
template <typename T>
__host__ __device__ inline int pitch_of(int width) {
  int pitch = width;
  while ((pitch * int(sizeof(T))) % 8 != 4) ++pitch;
  return pitch;
}

// One block per row: silu(gate) * up as silu_mul.cu rounds it, H_p on each
// chunk a of p (butterfly.cuh: a team of lanes per chunk, R packs each), the
// scale, rounded to T, staged in shared memory as [m][pitch], then written
// out: in the row's order where m = 1, else transposed, [p][m_pad] (entry
// (b, a) the row's a p + b, zero for a >= m), so that F is one GEMM over
// rows of m_pad. Consecutive lanes write consecutive entries and read the
// staged rows a pitch apart (a different bank each).
template <typename T, int P, int R>
__global__ void silu_mul_hadamard(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ z,
                                  int64_t in_stride, DownInputShape s) {
  extern __shared__ unsigned char staged_bytes[];
  T* staged = reinterpret_cast<T*>(staged_bytes);
  const int m = int(s.m), p = int(s.p), pitch = pitch_of<T>(p);
  const int team = p / (P * R);
  const int lane = threadIdx.x % 32, member = lane % team;
  const int chunks_per_pass = (kThreads / 32) * (32 / team);
  const int first = (threadIdx.x / 32) * (32 / team) + lane / team;
  const unsigned mask = team_mask(team);
  const T* g = gate + blockIdx.x * in_stride;
  const T* u = up + blockIdx.x * in_stride;
  for (int a = first; a < m; a += chunks_per_pass) {   // a team's lanes share a
    float v[R][P];
#pragma unroll
    for (int k = 0; k < R; ++k) {
      const int col = a * p + (k * team + member) * P;
      float gf[P], uf[P];
      unpack<T>(load_pack(g + col), gf);
      unpack<T>(load_pack(u + col), uf);
#pragma unroll
      for (int e = 0; e < P; ++e) v[k][e] = round_to<T>(silu_times<T>(gf[e], uf[e]));   // what silu_mul stores
    }
    butterfly<P, R>(v, team, mask);
#pragma unroll
    for (int k = 0; k < R; ++k)
#pragma unroll
      for (int e = 0; e < P; ++e) store(staged + a * pitch + (k * team + member) * P + e, __fmul_rn(v[k][e], s.scale));
  }
  __syncthreads();
  if (m == 1) {
    T* out = z + int64_t(blockIdx.x) * p;
    for (int j = threadIdx.x; j < p; j += kThreads) out[j] = staged[j];
    return;
  }
  const int width = int(s.m_pad), step_a = kThreads % width, step_b = kThreads / width;
  T* out = z + int64_t(blockIdx.x) * p * width;
  // Entry j = b m_pad + a, its (b, a) carried from one entry to the next.
  int a = threadIdx.x % width, b = threadIdx.x / width;
  for (int j = threadIdx.x; j < p * width; j += kThreads) {
    out[j] = a < m ? staged[a * pitch + b] : T(0.f);
    a += step_a, b += step_b;
    if (a >= width) a -= width, ++b;
  }
}

// One block per row of y [rows, p m_pad] as the GEMM writes it (entry
// (b, a) at b m_pad + a): staged as [p][pitch], its range gathered on the way,
// then written in the row's own order (entry a p + b), fake-quantized where
// asked. Consecutive lanes write consecutive entries and read the staged
// rows a pitch apart.
template <typename T, int P>
__global__ void untranspose_quant(const T* __restrict__ y, T* __restrict__ out, DownInputShape s, bool quant,
                                  QuantArgs q) {
  extern __shared__ unsigned char staged_bytes[];
  __shared__ float shared[32];
  T* staged = reinterpret_cast<T*>(staged_bytes);
  const int m = int(s.m), p = int(s.p), width = int(s.m_pad), pitch = pitch_of<T>(m);
  const T* in = y + int64_t(blockIdx.x) * p * width;
  RowRange range;
  for (int j0 = threadIdx.x * P; j0 < p * width; j0 += kThreads * P) {   // a pack never crosses a row of m_pad
    float f[P];
    unpack<T>(load_pack(in + j0), f);
    const int b = j0 / width, a0 = j0 % width;
#pragma unroll
    for (int e = 0; e < P; ++e)
      if (a0 + e < m) {
        staged[b * pitch + a0 + e] = T(f[e]);
        range.add(f[e], q.symmetric);
      }
  }
  __syncthreads();
  RowGrid g{};
  if (quant) g = block_row_grid(range, q, shared);
  const int n = m * p, shift = __ffs(p) - 1;
  T* o = out + int64_t(blockIdx.x) * n;
  for (int j = threadIdx.x; j < n; j += kThreads) {
    const float v = load(staged + (j & (p - 1)) * pitch + (j >> shift));
    store(o + j, quant ? fake_quant_value(v, g, q) : v);
  }
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

constexpr size_t kSharedMax = 48 * 1024;   // without opting in to more

}  // namespace

bool launch_silu_mul_hadamard(const void* gate, const void* up, void* z, int64_t in_stride, const DownInputShape& s,
                              Dtype dtype, void* stream) {
  bool launched = false;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    constexpr int P = kPack<T>;
    const int64_t p = s.p, m = s.m;
    if (p < P || p > 1024 || (p & (p - 1)) != 0 || m < 1 || m * p >= (int64_t(1) << 31) || in_stride % P != 0 ||
        !aligned(gate) || !aligned(up) || !aligned(z) || s.rows >= (int64_t(1) << 31))
      return;
    const size_t bytes = size_t(m) * pitch_of<T>(int(p)) * sizeof(T);
    // The untransposing kernel stages as much; both must fit.
    const size_t back = m > 1 ? size_t(p) * pitch_of<T>(int(m)) * sizeof(T) : 0;
    if (bytes > kSharedMax || back > kSharedMax || (m > 1 && s.m_pad % P != 0) || (m == 1 && s.m_pad != 1)) return;
    const int64_t packs = p / P, team = packs < 32 ? packs : 32, R = packs / team;
    auto st = static_cast<cudaStream_t>(stream);
    auto go = [&](auto kernel) {
      if (s.rows > 0)
        kernel<<<unsigned(s.rows), kThreads, bytes, st>>>(static_cast<const T*>(gate), static_cast<const T*>(up),
                                                          static_cast<T*>(z), in_stride, s);
      launched = true;
    };
    switch (R) {
      case 1: go(silu_mul_hadamard<T, P, 1>); break;
      case 2: go(silu_mul_hadamard<T, P, 2>); break;
      case 4: go(silu_mul_hadamard<T, P, 4>); break;
      case 8: go(silu_mul_hadamard<T, P, 8>); break;
      default: break;
    }
  });
  check_launch("silu * up + Hadamard kernel");
  return launched;
}

bool launch_untranspose_quant(const void* y, void* out, const DownInputShape& s, const QuantArgs* q, Dtype dtype,
                              void* stream) {
  bool launched = false;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    constexpr int P = kPack<T>;
    const int64_t n = s.m_pad * s.p;
    if (s.m_pad % P != 0 || n >= (int64_t(1) << 31) || !aligned(y) || s.rows >= (int64_t(1) << 31)) return;
    const size_t bytes = size_t(s.p) * pitch_of<T>(int(s.m)) * sizeof(T);
    if (bytes > kSharedMax) return;
    if (s.rows > 0)
      untranspose_quant<T, P><<<unsigned(s.rows), kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(
          static_cast<const T*>(y), static_cast<T*>(out), s, q != nullptr, q ? *q : QuantArgs{});
    launched = true;
  });
  check_launch("untranspose + fake-quant kernel");
  return launched;
}

}  // namespace qlab::cuda
