// Hadamard constructions and transforms: H H^T = m I exactly for every
// constructed order, the fast paths against dense products, plans and their
// fallbacks, random orthogonal matrices.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <cmath>

#include "core/error.h"
#include "core/quant/hadamard.h"
#include "core/quant/hadamard_tables.h"
#include "core/quant/orthogonal.h"

namespace qlab {
namespace {

// Float64 holds these integer products exactly (|entries| <= m < 2^53).
torch::Tensor as_tensor(const SignMatrix& h) {
  return torch::from_blob(const_cast<int8_t*>(h.entries.data()), {h.n, h.n}, torch::kInt8).to(torch::kFloat64);
}

bool is_orthogonal(const torch::Tensor& m, double tol = 1e-10) {
  const torch::Tensor eye = torch::eye(m.size(0), m.options());
  return torch::allclose(m.matmul(m.t()), eye, 0, tol) && torch::allclose(m.t().matmul(m), eye, 0, tol);
}

// Sylvester by its recursive definition [[H, H], [H, -H]], unnormalised.
torch::Tensor sylvester(int64_t n) {
  torch::Tensor h = torch::ones({1, 1}, torch::kFloat64);
  while (h.size(0) < n) h = torch::cat({torch::cat({h, h}, 1), torch::cat({h, -h}, 1)}, 0);
  return h;
}

TEST(Hadamard, EveryConstructedOrderIsHadamard) {
  // The public codes' orders, plus more orders each construction reaches
  // (76, 148, 924 via Paley II; 24, 244 = 3^5 + 1 via Paley I; 88 by doubling).
  for (int64_t m : {1, 2, 4, 8, 12, 20, 28, 36, 40, 44, 52, 60, 108, 140, 156, 172,
                    24, 76, 88, 148, 244, 924}) {
    std::string how;
    auto h = construct_hadamard(m, &how);
    ASSERT_TRUE(h.has_value()) << "order " << m;
    ASSERT_EQ(h->n, m);
    const torch::Tensor t = as_tensor(*h);
    EXPECT_TRUE(torch::equal(t.abs(), torch::ones_like(t))) << m;
    EXPECT_TRUE(torch::equal(t.matmul(t.t()), m * torch::eye(m, torch::kFloat64))) << m << " " << how;
    EXPECT_FALSE(how.empty());
  }
  std::string how;
  construct_hadamard(28, &how);
  EXPECT_EQ(how, "Paley I, q = 27 = 3^3");
  construct_hadamard(52, &how);
  EXPECT_EQ(how, "Paley II, q = 25 = 5^2");
  construct_hadamard(156, &how);
  EXPECT_EQ(how, "Williamson, n = 39");
  // Orders that cannot be Hadamard, and one no construction here reaches.
  for (int64_t m : {3, 6, 10, 92}) EXPECT_FALSE(construct_hadamard(m).has_value()) << m;
}

TEST(Hadamard, WalshHadamardTransformEqualsDenseSylvester) {
  torch::manual_seed(0);
  for (int64_t n : {1, 2, 8, 64, 256}) {
    const torch::Tensor x = torch::randn({3, 5, n}, torch::kFloat64);
    const torch::Tensor dense = x.matmul(sylvester(n).t()) / std::sqrt(static_cast<double>(n));
    EXPECT_TRUE(torch::allclose(fwht(x), dense, 0, 1e-12)) << n;
    EXPECT_TRUE(torch::allclose(apply_hadamard(x), dense, 0, 1e-12)) << n;
  }
  EXPECT_THROW(fwht(torch::randn({4, 12})), UsageError);
}

TEST(Hadamard, KroneckerFastPathEqualsDenseMatrix) {
  torch::manual_seed(1);
  for (int64_t n : {12 * 64, 20 * 8, 156 * 4, 172 * 4, 28 * 16}) {
    const torch::Tensor m = hadamard_matrix(n);
    ASSERT_EQ(m.size(0), n);
    // A genuine Hadamard matrix, normalised: entries +-1/sqrt(n), orthogonal.
    EXPECT_TRUE(torch::allclose(m.abs() * std::sqrt(static_cast<double>(n)), torch::ones_like(m), 0, 1e-12));
    EXPECT_TRUE(is_orthogonal(m)) << n;
    const torch::Tensor x = torch::randn({4, n}, torch::kFloat64);
    // Each row x becomes M x: for a batch, X M^T.
    EXPECT_TRUE(torch::allclose(apply_hadamard(x), m.matmul(x.t()).t(), 0, 1e-10)) << n;
  }
}

// For n = 172 * 64 (LLaMA-2-7B's intermediate size) the dense matrix is 1 GB:
// check 64 of its rows, written out from the definition
// M[(a, b), (a', b')] = H_172[a, a'] (-1)^popcount(b & b') / sqrt(n).
TEST(Hadamard, KroneckerFastPathOnLlamaIntermediateSize) {
  torch::manual_seed(3);
  const int64_t m = 172, p = 64, n = m * p;
  const torch::Tensor h = as_tensor(*construct_hadamard(m));
  const torch::Tensor s = sylvester(p);
  const torch::Tensor rows = torch::randperm(n, torch::kInt64).slice(0, 0, 64);
  torch::Tensor dense = torch::empty({64, n}, torch::kFloat64);
  for (int64_t r = 0; r < 64; ++r) {
    const int64_t i = rows[r].item<int64_t>();
    dense[r] = torch::outer(h[i / p], s[i % p]).reshape({n}) / std::sqrt(static_cast<double>(n));
  }
  const torch::Tensor x = torch::randn({3, n}, torch::kFloat64);
  const torch::Tensor expect = x.matmul(dense.t());
  EXPECT_TRUE(torch::allclose(apply_hadamard(x).index_select(1, rows), expect, 0, 1e-10));
  // Float32 on the same path, to float accuracy.
  EXPECT_TRUE(torch::allclose(apply_hadamard(x.to(torch::kFloat32)).index_select(1, rows).to(torch::kFloat64),
                              expect, 0, 1e-4));
}

TEST(Hadamard, ChunksAreTransformedIndependently) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({2, 3 * 12 * 8}, torch::kFloat64);
  const torch::Tensor y = apply_hadamard(x, 96);
  for (int64_t c = 0; c < 3; ++c)
    EXPECT_TRUE(torch::allclose(y.slice(1, 96 * c, 96 * c + 96), apply_hadamard(x.slice(1, 96 * c, 96 * c + 96))));
  EXPECT_THROW(apply_hadamard(x, 100), UsageError);
}

TEST(Hadamard, PlansSayWhatTheyUse) {
  EXPECT_EQ(plan_hadamard(4096).description, "H_4096");
  EXPECT_EQ(plan_hadamard(11008).description, "H_172 ⊗ H_64");      // LLaMA-2-7B
  EXPECT_EQ(plan_hadamard(13824).description, "H_108 ⊗ H_128");     // LLaMA-2-13B
  EXPECT_EQ(plan_hadamard(14336).description, "H_28 ⊗ H_512");      // LLaMA-3-8B
  EXPECT_EQ(plan_hadamard(28672).description, "H_28 ⊗ H_1024");     // 70B
  EXPECT_EQ(plan_hadamard(18944).description, "H_148 ⊗ H_128");     // Qwen2.5-7B
  EXPECT_EQ(plan_hadamard(29568).description, "H_924 ⊗ H_32");      // Qwen2-72B
  EXPECT_EQ(plan_hadamard(172).description, "H_172");
  // Sizes with no construction: an error, unless the orthogonal fallback is allowed.
  try {
    plan_hadamard(92);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("hadamard: no Hadamard construction of order 92 (", 0), 0u);
  }
  const std::vector<std::pair<int64_t, std::string>> fallbacks = {
      {92, "orth_23 ⊗ H_4"}, {74, "orth_37 ⊗ H_2"}, {37, "orth_37"}};
  for (const auto& [n, label] : fallbacks) {
    const HadamardPlan plan = plan_hadamard(n, /*allow_orthogonal_fallback=*/true, 5);
    EXPECT_EQ(plan.description, label);
    EXPECT_FALSE(plan.is_hadamard);
    const torch::Tensor m = transform_matrix(plan);
    EXPECT_TRUE(is_orthogonal(m));
    const torch::Tensor x = torch::randn({3, n}, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(apply_hadamard(x, plan), x.matmul(m.t()), 0, 1e-10));
  }
  EXPECT_TRUE(plan_hadamard(11008, true).is_hadamard);   // fallback only when needed
  // Small power-of-two parts run as a product, large ones as the butterfly;
  // both give the dense transform.
  EXPECT_TRUE(plan_hadamard(11008).power_matrix.defined());
  EXPECT_FALSE(plan_hadamard(2 * kDensePowerMax).power_matrix.defined());
  for (int64_t n : {int64_t{64}, 2 * kDensePowerMax}) {
    const torch::Tensor x = torch::randn({2, n}, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(apply_hadamard(x, plan_hadamard(n)), x.matmul(hadamard_matrix(n).t()), 0, 1e-10)) << n;
  }
  EXPECT_THROW(plan_hadamard(0), UsageError);
}

TEST(Hadamard, RandomisedHadamardAndRandomOrthogonal) {
  const torch::Tensor a = random_hadamard_matrix(128, 7), b = random_hadamard_matrix(128, 7);
  EXPECT_TRUE(is_orthogonal(a));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, random_hadamard_matrix(128, 8)));
  // diag(s) H: row i of H times s_i.
  const torch::Tensor ratio = a / hadamard_matrix(128);
  EXPECT_TRUE(torch::allclose(ratio, ratio.select(1, 0).unsqueeze(1).expand_as(ratio)));
  // The signs act before the transform, so two seeds spread a vector
  // differently: the magnitudes of x Q differ (with the signs after the
  // transform they would be identical for every seed).
  const torch::Tensor x = torch::randn({4, 128}, torch::kFloat64);
  EXPECT_FALSE(torch::allclose(x.matmul(a).abs(), x.matmul(random_hadamard_matrix(128, 8)).abs()));
  const torch::Tensor q = random_orthogonal(96, 3);
  EXPECT_TRUE(is_orthogonal(q));
  EXPECT_TRUE(torch::equal(q, random_orthogonal(96, 3)));
  EXPECT_FALSE(torch::allclose(q, random_orthogonal(96, 4)));
  const torch::Tensor s = random_signs(1000, 1);
  EXPECT_TRUE(torch::equal(s.abs(), torch::ones_like(s)));
  EXPECT_LT(std::abs(s.sum().item<double>()), 150.0);   // both signs, roughly balanced
}

TEST(Hadamard, GradientFlowsThroughTheTransform) {
  const torch::Tensor x = torch::randn({2, 12 * 4}, torch::requires_grad());
  const torch::Tensor w = torch::randn({2, 12 * 4});
  (apply_hadamard(x) * w).sum().backward();
  // d/dx sum(w . (x M^T)) = w M: the transform of w by M^T.
  const torch::Tensor m = hadamard_matrix(48).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(x.grad(), w.matmul(m), 1e-5, 1e-5));
}

TEST(Hadamard, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Tensor x = torch::randn({5, 2 * 172 * 64});
  const HadamardPlan plan = plan_hadamard(172 * 64);
  const torch::Tensor gpu = apply_hadamard(x.cuda(), plan.to(torch::kCUDA));
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_TRUE(torch::allclose(gpu.cpu(), apply_hadamard(x, plan), 1e-4, 1e-4));
}

}  // namespace
}  // namespace qlab
