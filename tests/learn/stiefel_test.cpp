// The orthogonal-group optimisers: they stay on the manifold, and they
// minimise. The toy objective has a known answer: recover a rotation R* from
// pairs (a, a R*) by least squares, whose minimum over orthogonal X is 0 at R*.
#include <gtest/gtest.h>

#include "core/learn/stiefel.h"
#include "core/quant/orthogonal.h"

namespace qlab {
namespace {

struct Toy {
  torch::Tensor A, B;   // B = A R*
  explicit Toy(int64_t n, torch::ScalarType dtype) {
    torch::manual_seed(1);
    A = torch::randn({4 * n, n}, torch::kFloat64);
    B = A.matmul(random_orthogonal(n, 11));
    A = A.to(dtype), B = B.to(dtype);
  }
  torch::Tensor loss(const torch::Tensor& X) const { return (A.matmul(X) - B).pow(2).mean(); }
};

template <class Opt>
std::vector<double> run(Opt& opt, const Toy& toy, torch::Tensor& X, int steps) {
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    auto l = toy.loss(X);
    l.backward();
    opt.step();
    losses.push_back(l.item<double>());
  }
  return losses;
}

CayleyOptions with_momentum(double m) {
  CayleyOptions o;
  o.momentum = m;
  return o;
}

class Optimisers : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(Optimisers, CayleySgdStaysOrthogonalAndRecoversTheRotation) {
  const int64_t n = 24;
  Toy toy(n, GetParam());
  auto X = random_orthogonal(n, 3).to(GetParam()).requires_grad_(true);
  CayleySGD opt({X}, 0.05, with_momentum(0.9));
  auto losses = run(opt, toy, X, 1000);
  EXPECT_LT(orthogonality_error(X), 1e-5);
  EXPECT_LT(losses.back(), 1e-3 * losses.front());
  // Decreasing in expectation: the mean of each tenth below the one before.
  for (size_t k = 1; k < 10; ++k) {
    double prev = 0, cur = 0;
    for (size_t j = 0; j < 100; ++j) prev += losses[(k - 1) * 100 + j], cur += losses[k * 100 + j];
    EXPECT_LE(cur, prev * (1 + 1e-9)) << "tenth " << k;
  }
}

TEST_P(Optimisers, RiemannianAdamStaysOrthogonalAndRecoversTheRotation) {
  const int64_t n = 24;
  Toy toy(n, GetParam());
  auto X = random_orthogonal(n, 3).to(GetParam()).requires_grad_(true);
  RiemannianAdam opt({X}, 0.01);
  auto losses = run(opt, toy, X, 1000);
  EXPECT_LT(orthogonality_error(X), 1e-5);
  EXPECT_LT(losses.back(), 1e-3 * losses.front());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Optimisers, ::testing::Values(torch::kFloat32, torch::kFloat64));

TEST(Cayley, FixedPointIterationDriftsWhereTheExactTransformDoesNot) {
  // Why the exact solve is the default: the paper's two fixed-point
  // iterations leave an error of order alpha^3 per step.
  const int64_t n = 16;
  Toy toy(n, torch::kFloat64);
  auto exact = random_orthogonal(n, 5).requires_grad_(true);
  auto iterated = exact.detach().clone().requires_grad_(true);
  CayleyOptions two;
  two.iterations = 2;
  CayleySGD a({exact}, 1.5), b({iterated}, 1.5, two);
  run(a, toy, exact, 200);
  run(b, toy, iterated, 200);
  EXPECT_LT(orthogonality_error(exact), 1e-12);
  EXPECT_GT(orthogonality_error(iterated), 1e-10);
}

TEST(Cayley, StepIsCappedByTheNormOfTheSkewDirection) {
  // A huge learning rate must not leave the manifold nor jump arbitrarily:
  // the step is at most 1 / ||W||_1, so X moves by a bounded amount.
  const int64_t n = 8;
  Toy toy(n, torch::kFloat64);
  auto X = random_orthogonal(n, 2).requires_grad_(true);
  auto before = X.detach().clone();
  CayleySGD opt({X}, 1e6);
  run(opt, toy, X, 1);
  EXPECT_LT(orthogonality_error(X), 1e-12);
  // ||Cayley(alpha W) - I||_2 <= alpha ||W||_2 / (1 - alpha ||W||_2 / 2) <= 2 with alpha ||W||_1 <= 1.
  EXPECT_LE(at::linalg_svdvals(X.detach() - before).max().item<double>(), 2.0 + 1e-9);
  EXPECT_GT((X.detach() - before).abs().max().item<double>(), 1e-3);
}

TEST(Cayley, StateRoundTripGivesTheSameTrajectory) {
  const int64_t n = 12;
  Toy toy(n, torch::kFloat64);
  auto X = random_orthogonal(n, 4).requires_grad_(true);
  CayleySGD opt({X}, 0.1, with_momentum(0.9));
  run(opt, toy, X, 5);
  auto Y = X.detach().clone().requires_grad_(true);
  CayleySGD resumed({Y}, 0.1, with_momentum(0.9));
  resumed.load_state(opt.state());
  run(opt, toy, X, 5);
  run(resumed, toy, Y, 5);
  EXPECT_TRUE(torch::allclose(X, Y, 0, 1e-14));
}

}  // namespace
}  // namespace qlab
