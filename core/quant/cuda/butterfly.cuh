// The Walsh-Hadamard butterfly (hadamard.h's H_p, p a power of two) on a
// chunk of p values that a team of lanes holds in registers, for the kernels
// that fuse an online Hadamard into the op that makes its input (rope.cu,
// down_input.cu): the chunk never goes to memory between the two.
//
// Layout: `team` consecutive lanes (a power of two <= 32, aligned to it),
// each holding R packs of P values; pack k of lane l holds chunk entries
// (k * team + l) * P + e. Stage h pairs entries i and i + h: within a pack
// for h < P, between lanes l and l ^ (h / P) up to P * team, between packs
// above. Every stage is a float32 add, so the sum of each output is exact
// where the GEMM by H_p's entries is (both add exact products of the same
// values in float32, in another order; the caller applies the scale, the
// dtype's value of 1 / sqrt(p), as the GEMM's matrix holds it).
#pragma once

namespace qlab::cuda {

// The lanes of this lane's team (team a power of two <= 32).
__device__ inline unsigned team_mask(int team) {
  if (team == 32) return 0xffffffffu;
  const unsigned lane = threadIdx.x % 32;
  return ((1u << team) - 1u) << (lane & ~unsigned(team - 1));
}

template <int P, int R>
__device__ inline void butterfly(float (&v)[R][P], int team, unsigned mask) {
#pragma unroll
  for (int h = 1; h < P; h *= 2)
#pragma unroll
    for (int k = 0; k < R; ++k)
#pragma unroll
      for (int e = 0; e < P; ++e)
        if (!(e & h)) {
          const float a = v[k][e], b = v[k][e + h];
          v[k][e] = a + b;
          v[k][e + h] = a - b;
        }
  const int lane = threadIdx.x % 32;
  for (int s = 1; s < team; s *= 2) {
    const bool upper = lane & s;
#pragma unroll
    for (int k = 0; k < R; ++k)
#pragma unroll
      for (int e = 0; e < P; ++e) {
        const float mine = v[k][e], theirs = __shfl_xor_sync(mask, mine, s);
        v[k][e] = upper ? theirs - mine : mine + theirs;
      }
  }
#pragma unroll
  for (int s = 1; s < R; s *= 2)
#pragma unroll
    for (int k = 0; k < R; ++k)
      if (!(k & s))
#pragma unroll
        for (int e = 0; e < P; ++e) {
          const float a = v[k][e], b = v[k + s][e];
          v[k][e] = a + b;
          v[k + s][e] = a - b;
        }
}

}  // namespace qlab::cuda
