#include "core/quant/hadamard.h"

#include <cmath>

#include "core/error.h"
#include "core/quant/hadamard_tables.h"
#include "core/quant/orthogonal.h"

namespace qlab {
namespace {

bool is_power_of_two(int64_t n) { return n >= 1 && (n & (n - 1)) == 0; }

torch::Tensor sign_matrix_tensor(const SignMatrix& h) {
  torch::Tensor t = torch::empty({h.n, h.n}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (int64_t i = 0; i < h.n; ++i)
    for (int64_t j = 0; j < h.n; ++j) a[i][j] = h.at(i, j);
  return t;
}

// Sylvester H_p / sqrt(p) written out: entry (i, j) = (-1)^popcount(i & j).
torch::Tensor sylvester_normalized(int64_t p) {
  torch::Tensor idx = torch::arange(p, torch::kInt64);
  torch::Tensor bits = torch::bitwise_and(idx.unsqueeze(1), idx.unsqueeze(0));
  torch::Tensor parity = torch::zeros_like(bits);
  for (int64_t b = 1; b < p; b <<= 1) parity = parity + torch::bitwise_and(bits, b).ne(0).to(torch::kInt64);
  return (1.0 - 2.0 * torch::remainder(parity, 2).to(torch::kFloat64)) / std::sqrt(static_cast<double>(p));
}

std::string power_label(int64_t p) { return "H_" + std::to_string(p); }

// m on y's device and in y's dtype; a no-op for a plan prepared with to().
torch::Tensor like(const torch::Tensor& m, const torch::Tensor& y) {
  if (m.device() == y.device() && m.scalar_type() == y.scalar_type()) return m;
  return m.to(y.device(), y.scalar_type());
}

// The plan's n and outer factor F (everything but the power-of-two matrix).
HadamardPlan plan_outer(int64_t n, bool allow_orthogonal_fallback, uint64_t seed) {
  HadamardPlan plan;
  plan.n = n;
  int64_t odd = n, k = 0;
  while (odd % 2 == 0) odd /= 2, ++k;
  if (odd == 1) {
    plan.description = power_label(n);
    plan.construction = "Sylvester";
    return plan;
  }
  for (int64_t j = 1; j <= k && (odd << j) <= kMaxOuterOrder; ++j) {
    const int64_t m = odd << j;
    std::string how;
    if (auto h = construct_hadamard(m, &how)) {
      plan.outer = m;
      plan.outer_matrix = sign_matrix_tensor(*h) / std::sqrt(static_cast<double>(m));
      plan.construction = how;
      plan.description = "H_" + std::to_string(m) + (m == n ? "" : " ⊗ " + power_label(n / m));
      return plan;
    }
  }
  const std::string factored = std::to_string(odd) + " x 2^" + std::to_string(k);
  if (!allow_orthogonal_fallback)
    throw UsageError("hadamard: no Hadamard construction of order " + std::to_string(n) + " (" +
                     std::to_string(n) + " = " + factored + "; none of Sylvester, Paley I/II and the "
                     "stored Williamson orders gives " + std::to_string(odd) + " x 2^j for j <= " +
                     std::to_string(k) + " within order " + std::to_string(kMaxOuterOrder) + ")");
  plan.outer = odd;
  plan.outer_matrix = random_orthogonal(odd, seed);
  plan.is_hadamard = false;
  plan.construction = "random orthogonal (QR), seed " + std::to_string(seed);
  plan.description = "orth_" + std::to_string(odd) + (odd == n ? "" : " ⊗ " + power_label(n / odd));
  return plan;
}

}  // namespace

HadamardPlan HadamardPlan::to(torch::Device device, torch::ScalarType dtype) const {
  HadamardPlan p = *this;
  if (p.outer_matrix.defined()) p.outer_matrix = p.outer_matrix.to(device, dtype);
  if (p.power_matrix.defined()) p.power_matrix = p.power_matrix.to(device, dtype);
  return p;
}

HadamardPlan plan_hadamard(int64_t n, bool allow_orthogonal_fallback, uint64_t seed) {
  if (n < 1) throw UsageError("hadamard: transform order must be >= 1; got " + std::to_string(n));
  HadamardPlan plan = plan_outer(n, allow_orthogonal_fallback, seed);
  const int64_t p = n / plan.outer;
  if (p > 1 && p <= kDensePowerMax) plan.power_matrix = sylvester_normalized(p);
  return plan;
}


torch::Tensor fwht(const torch::Tensor& x) {
  const int64_t n = x.size(-1);
  if (!is_power_of_two(n))
    throw UsageError("hadamard: fast Walsh-Hadamard transform needs a power-of-two size; got " +
                     std::to_string(n));
  // Butterfly on bit h of the index: pairs (i, i + h) inside blocks of 2h
  // become (a + b, a - b). All log2(n) stages give Sylvester's H_n.
  torch::Tensor y = x.reshape({-1, n});
  for (int64_t h = 1; h < n; h *= 2) {
    torch::Tensor v = y.view({-1, n / (2 * h), 2, h});
    torch::Tensor a = v.select(2, 0), b = v.select(2, 1);
    y = torch::stack({a + b, a - b}, 2).view({-1, n});
  }
  return (y * (1.0 / std::sqrt(static_cast<double>(n)))).view(x.sizes());
}

torch::Tensor apply_hadamard(const torch::Tensor& x, const HadamardPlan& plan) {
  if (x.dim() == 0 || x.size(-1) % plan.n != 0)
    throw UsageError("hadamard: last dimension " + std::to_string(x.dim() ? x.size(-1) : 0) +
                     " is not a multiple of the transform order " + std::to_string(plan.n));
  const int64_t p = plan.n / plan.outer;
  // [..., chunks * n] -> [rows, m, p]: H_p over p, then F over m (F ⊗ H_p).
  // H_p is symmetric, so the row-vector product y H_p^T is y H_p.
  torch::Tensor y = x.reshape({-1, plan.outer, p});
  y = plan.power_matrix.defined() ? torch::matmul(y, like(plan.power_matrix, y)) : fwht(y);
  if (plan.outer > 1) y = torch::matmul(like(plan.outer_matrix, y), y);
  return y.reshape(x.sizes());
}

torch::Tensor apply_hadamard(const torch::Tensor& x, int64_t n) {
  if (x.dim() == 0) throw UsageError("hadamard: cannot transform a 0-dimensional tensor");
  return apply_hadamard(x, plan_hadamard(n > 0 ? n : x.size(-1)));
}

torch::Tensor transform_matrix(const HadamardPlan& plan) {
  const torch::Tensor power = sylvester_normalized(plan.n / plan.outer);
  return plan.outer > 1 ? torch::kron(plan.outer_matrix.to(torch::kCPU).contiguous(), power) : power;
}

torch::Tensor hadamard_matrix(int64_t n) { return transform_matrix(plan_hadamard(n)); }

torch::Tensor random_hadamard_matrix(const HadamardPlan& plan, uint64_t seed) {
  return random_signs(plan.n, seed).unsqueeze(1) * transform_matrix(plan);
}

torch::Tensor random_hadamard_matrix(int64_t n, uint64_t seed) { return random_hadamard_matrix(plan_hadamard(n), seed); }

}  // namespace qlab
