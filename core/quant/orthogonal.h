// Seeded random orthogonal matrices and sign vectors, the random parts of
// rotations (QuaRot's random R1, SpinQuant's initialisation, fallbacks for
// sizes without a Hadamard construction). Float64 on the CPU, so that the same
// seed gives the same matrix on every machine; callers move and cast.
#pragma once
#include "core/tensor.h"

#include <cstdint>

namespace qlab {

// Haar-distributed orthogonal n x n: Q of the QR factorisation of a standard
// Gaussian matrix, with each column multiplied by the sign of R's diagonal
// entry (without that fix the distribution is not uniform).
torch::Tensor random_orthogonal(int64_t n, uint64_t seed);

// The Karhunen-Loeve basis of a symmetric positive semi-definite C [n, n]:
// its eigenvectors as columns (eigenvalues descending), so that Q^T C Q is
// diagonal. OSTQuant's initialisation: Q times a random Hadamard. Float64.
torch::Tensor klt_basis(const torch::Tensor& C);

// n independent fair +-1 entries, float64.
torch::Tensor random_signs(int64_t n, uint64_t seed);

}  // namespace qlab
