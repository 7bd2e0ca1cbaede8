#include "core/model/cuda/model_kernels.h"
#include "core/model/cuda/silu.cuh"
#include "core/quant/cuda/butterfly.cuh"
#include "core/quant/cuda/element.cuh"

namespace qlab::cuda {
namespace {

constexpr int kThreads = 256;

// Elements between the starts of two staged chunks: p and one 16-byte pack,
// so that every chunk starts 16-byte aligned and consecutive chunks start in
// different banks.
template <typename T>
__host__ __device__ inline int pitch_of(int p) {
  return p + kPack<T>;
}

// One block per row: silu(gate) * up as silu_mul.cu rounds it, H_p on each
// chunk a of p (butterfly.cuh: a team of lanes per chunk, R packs each), the
// scale, rounded to T, staged in shared memory, then written out in the row's
// order, consecutive lanes writing consecutive packs, and m_pad - m chunks of
// zeros after it.
template <typename T, int P, int R>
__global__ void silu_mul_hadamard(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ z,
                                  int64_t in_stride, DownInputShape s) {
  extern __shared__ __align__(16) unsigned char staged_bytes[];
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
    for (int k = 0; k < R; ++k) {
#pragma unroll
      for (int e = 0; e < P; ++e) v[k][e] = __fmul_rn(v[k][e], s.scale);
      store_pack(staged + a * pitch + (k * team + member) * P, v[k]);
    }
  }
  __syncthreads();
  T* out = z + int64_t(blockIdx.x) * s.m_pad * p;
  for (int i = threadIdx.x; i < int(s.m_pad) * (p / P); i += kThreads) {
    const int a = i / (p / P), col = (i % (p / P)) * P;
    *reinterpret_cast<uint4*>(out + a * p + col) = a < m ? load_pack(staged + a * pitch + col) : uint4{0, 0, 0, 0};
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
    if (bytes > kSharedMax || s.m_pad < m || s.m_pad * p >= (int64_t(1) << 31)) return;
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

}  // namespace qlab::cuda
