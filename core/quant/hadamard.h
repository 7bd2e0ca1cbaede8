// Hadamard transforms along the last dimension, fast, for the online and fused
// rotations of QuaRot / SpinQuant / ReSpinQuant.
//
// A plan of order n is the orthogonal matrix M = F ⊗ H_p / sqrt(p), n = m p,
// p a power of two (H_p Sylvester's: a matrix product up to order
// kDensePowerMax, where that is faster than the butterfly's log2(p) passes over
// memory, the fast Walsh-Hadamard butterfly above), F an m x m orthonormal matrix: H_m / sqrt(m) from a construction
// in hadamard_tables.h, or, only where the caller allows it, a seeded random
// orthogonal matrix for sizes no construction reaches. Index i = a p + b.
//
// Convention: each length-n row vector x becomes M x; a batch X [..., n]
// becomes X M^T. Applying the same call to a weight W [out, n] gives W M^T,
// so (M x) and (W M^T) cancel: y = W x = (W M^T)(M x). M is not symmetric in
// general (most H_m are not): use the same transform for activations and
// weights, as QuaRot does.
#pragma once
#include "core/tensor.h"

#include <cstdint>
#include <string>

namespace qlab {

struct HadamardPlan {
  int64_t n = 1;
  int64_t outer = 1;               // m; the power-of-two part is n / m
  torch::Tensor outer_matrix;      // [m, m] orthonormal float64; undefined when m == 1
  torch::Tensor power_matrix;      // [p, p] H_p / sqrt(p) when 1 < p <= kDensePowerMax; else undefined
  bool is_hadamard = true;         // false: F is random orthogonal (fallback)
  std::string description;         // "H_172 ⊗ H_64", "H_4096", "orth_37 ⊗ H_2"
  std::string construction;        // how F was built, e.g. "Williamson, n = 43"
  // A copy with its matrices on `device` in `dtype` (the activations' dtype
  // for online transforms), so that no call converts or copies them.
  HadamardPlan to(torch::Device device, torch::ScalarType dtype = torch::kFloat64) const;
};

// Outer factor: n = odd * 2^k; the smallest j with a construction of order
// odd * 2^j (at most kMaxOuterOrder) is used, which gives the public codes'
// choices for LLaMA/Mistral sizes (11008 -> H_172 ⊗ H_64, 14336 -> H_28 ⊗ H_512).
// Without one: UsageError, or, with allow_orthogonal_fallback, orth_odd ⊗ H_2^k
// (orthogonal and fast, but not a Hadamard matrix) from `seed`.
constexpr int64_t kMaxOuterOrder = 1024;
constexpr int64_t kDensePowerMax = 1024;
HadamardPlan plan_hadamard(int64_t n, bool allow_orthogonal_fallback = false, uint64_t seed = 0);

// Fast Walsh-Hadamard transform along the last dim (a power
// of two), scaled by 1/sqrt(n): O(n log n) per row, differentiable.
torch::Tensor fwht(const torch::Tensor& x);

// Applies the plan to every consecutive chunk of plan.n entries of the last
// dim (whose size must be a multiple of plan.n), e.g. per head. Same dtype.
torch::Tensor apply_hadamard(const torch::Tensor& x, const HadamardPlan& plan);
// True Hadamard of order n (n <= 0: the last dim) on each chunk of n.
torch::Tensor apply_hadamard(const torch::Tensor& x, int64_t n = 0);

// Dense M of a plan / of the true Hadamard of order n, float64, for fusion.
torch::Tensor transform_matrix(const HadamardPlan& plan);
torch::Tensor hadamard_matrix(int64_t n);
// Randomised Hadamard Q = diag(s) M, s seeded +-1 signs (QuaRot's random R1):
// x Q = (x * s) M, the signs act before the transform. (With them after it,
// M diag(s), every magnitude of x Q is the same for every seed, and under
// symmetric quantizers every seed gives the plain Hadamard's result.)
torch::Tensor random_hadamard_matrix(const HadamardPlan& plan, uint64_t seed);
torch::Tensor random_hadamard_matrix(int64_t n, uint64_t seed);

}  // namespace qlab
