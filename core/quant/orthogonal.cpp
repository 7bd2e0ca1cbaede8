#include "core/quant/orthogonal.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace qlab {

torch::Tensor random_orthogonal(int64_t n, uint64_t seed) {
  if (n < 1) throw UsageError("orthogonal: matrix order must be >= 1; got " + std::to_string(n));
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const torch::Tensor gaussian = torch::randn({n, n}, gen, torch::kFloat64);
  // at::linalg_qr is declared in LibTorch 1.13 and 2.x alike (torch::linalg::qr is not).
  auto [q, r] = at::linalg_qr(gaussian);
  const torch::Tensor d = r.diagonal();
  // contiguous: LAPACK's Q is column-major, which some ops (kron) cannot view.
  return (q * torch::where(d < 0, -torch::ones_like(d), torch::ones_like(d)).unsqueeze(0)).contiguous();
}

torch::Tensor random_signs(int64_t n, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return torch::randint(2, {n}, gen, torch::kFloat64) * 2.0 - 1.0;
}

torch::Tensor klt_basis(const torch::Tensor& C) {
  auto c = C.detach().to(torch::kFloat64);
  auto eig = at::linalg_eigh(0.5 * (c + c.t()));
  return std::get<1>(eig).flip({1}).contiguous();   // eigh sorts ascending
}

}  // namespace qlab
