// AAQ's contrastive loss against a plain re-computation: softmax, the two
// token subsets and the subset KLs written out with loops in double; with
// alpha 0 it is the pull-only KL (and over the whole vocabulary the plain KL),
// its gradient through a rotation matches central finite differences in
// float64, the loss from cached targets equals the one from the teachers, and
// every switch changes the value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/learn/apc_loss.h"

namespace qlab {
namespace {

using Row = std::vector<double>;

Row softmax(const Row& z) {
  double m = *std::max_element(z.begin(), z.end()), s = 0;
  Row p(z.size());
  for (size_t i = 0; i < z.size(); ++i) s += p[i] = std::exp(z[i] - m);
  for (auto& x : p) x /= s;
  return p;
}

std::vector<size_t> top(const Row& score, int64_t k) {
  std::vector<size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  idx.resize(k);
  return idx;
}

double kl(const Row& p, const Row& q, const std::vector<size_t>& s, bool renormalise) {
  double sp = 0, sq = 0, out = 0;
  for (size_t i : s) sp += p[i], sq += q[i];
  if (!renormalise) sp = sq = 1;
  for (size_t i : s) out += p[i] / sp * (std::log(p[i] / sp) - std::log(q[i] / sq));
  return out;
}

struct Expected {
  double pull = 0, push = 0;
};

Expected reference(const std::vector<Row>& q, const std::vector<Row>& ft, const std::vector<Row>& pt, const ApcOptions& o) {
  Expected e;
  for (size_t r = 0; r < q.size(); ++r) {
    Row pq = softmax(q[r]), pf = softmax(ft[r]), pp = softmax(pt[r]), gap(pf.size());
    for (size_t i = 0; i < gap.size(); ++i) gap[i] = o.push_on_logits ? std::abs(ft[r][i] - pt[r][i]) : std::abs(pf[i] - pp[i]);
    e.pull += kl(pf, pq, top(pf, o.k_pull), o.renormalise) / double(q.size());
    e.push += kl(pp, pq, top(gap, o.k_push), o.renormalise) / double(q.size());
  }
  return e;
}

torch::Tensor tensor(const std::vector<Row>& rows) {
  auto t = torch::empty({int64_t(rows.size()), int64_t(rows[0].size())}, torch::kFloat64);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t i = 0; i < rows[r].size(); ++i) t[r][i] = rows[r][i];
  return t;
}

TEST(ApcLoss, MatchesTheDefinitionForEveryVariant) {
  // Two positions, seven tokens; distinct values so no top-k ties.
  const std::vector<Row> q = {{0.3, -1.2, 2.0, 0.1, -0.4, 1.1, -2.2}, {1.5, 0.2, -0.3, -1.7, 0.9, 0.05, 0.6}};
  const std::vector<Row> ft = {{1.9, -0.5, 0.7, 0.2, -1.1, 2.4, -0.9}, {-0.2, 1.3, 0.4, -0.8, 2.1, 0.15, -1.4}};
  const std::vector<Row> pt = {{0.4, 0.8, 0.6, -0.3, -1.0, 0.35, 1.2}, {0.7, -0.6, 1.8, 0.25, 0.55, -1.3, 0.1}};
  for (bool renorm : {true, false})
    for (bool on_logits : {false, true}) {
      ApcOptions o;
      o.k_pull = 3, o.k_push = 2, o.alpha = 0.75, o.renormalise = renorm, o.push_on_logits = on_logits;
      auto got = apc_loss(tensor(q), tensor(ft), tensor(pt), o);
      auto want = reference(q, ft, pt, o);
      EXPECT_NEAR(got.pull.item<double>(), want.pull, 1e-6) << renorm << on_logits;
      EXPECT_NEAR(got.push.item<double>(), want.push, 1e-6) << renorm << on_logits;
      EXPECT_NEAR(got.loss.item<double>(), want.pull - 0.75 * want.push, 1e-6);
    }
}

TEST(ApcLoss, PullVanishesAtTheAlignedModelAndGradientsReachOnlyQ) {
  torch::manual_seed(0);
  auto ft = torch::randn({3, 5, 40}), pt = torch::randn({3, 5, 40});
  auto q = ft.clone().requires_grad_(true);
  ApcOptions o;
  o.k_pull = o.k_push = 10;
  auto t = apc_loss(q, ft, pt, o);
  EXPECT_NEAR(t.pull.item<double>(), 0.0, 1e-6);
  EXPECT_GT(t.push.item<double>(), 0.0);
  t.loss.backward();
  ASSERT_TRUE(q.grad().defined());
  EXPECT_GT(q.grad().abs().max().item<double>(), 0.0) << "the push term moves q away from the base";
  EXPECT_THROW(apc_loss(q, ft, pt.narrow(-1, 0, 39), o), std::invalid_argument);
  o.k_pull = 41;
  EXPECT_THROW(apc_loss(q, ft, pt, o), std::invalid_argument);
}

const std::vector<Row> kQ = {{0.3, -1.2, 2.0, 0.1, -0.4, 1.1, -2.2}, {1.5, 0.2, -0.3, -1.7, 0.9, 0.05, 0.6}};
const std::vector<Row> kFt = {{1.9, -0.5, 0.7, 0.2, -1.1, 2.4, -0.9}, {-0.2, 1.3, 0.4, -0.8, 2.1, 0.15, -1.4}};
const std::vector<Row> kPt = {{0.4, 0.8, 0.6, -0.3, -1.0, 0.35, 1.2}, {0.7, -0.6, 1.8, 0.25, 0.55, -1.3, 0.1}};

TEST(ApcLoss, WithAlphaZeroIsThePullOnlyKl) {
  ApcOptions o;
  o.alpha = 0, o.k_pull = 3, o.k_push = 2;
  EXPECT_NEAR(apc_loss(tensor(kQ), tensor(kFt), tensor(kPt), o).loss.item<double>(), reference(kQ, kFt, kPt, o).pull, 1e-12);
  // Over the whole vocabulary: sum_i p_i log(p_i / q_i), written out.
  o.k_pull = 7;
  double full = 0;
  for (size_t r = 0; r < kQ.size(); ++r) {
    Row p = softmax(kFt[r]), q = softmax(kQ[r]);
    for (size_t i = 0; i < p.size(); ++i) full += p[i] * std::log(p[i] / q[i]) / double(kQ.size());
  }
  EXPECT_NEAR(apc_loss(tensor(kQ), tensor(kFt), tensor(kPt), o).loss.item<double>(), full, 1e-12);
  EXPECT_NEAR(teacher_kl(tensor(kQ), tensor(kFt), 0).item<double>(), full, 1e-12);
  // teacher_kl's top-k variant is the renormalised pull term on S_top.
  o.k_pull = 3;
  EXPECT_NEAR(teacher_kl(tensor(kQ), tensor(kFt), 3).item<double>(), reference(kQ, kFt, kPt, o).pull, 1e-12);
}

TEST(ApcLoss, GradientThroughARotationMatchesFiniteDifferences) {
  torch::manual_seed(2);
  const auto f64 = torch::kFloat64;
  auto h = torch::randn({6, 8}, f64), W = torch::randn({20, 8}, f64);
  auto ft = torch::randn({6, 20}, f64), pt = torch::randn({6, 20}, f64);
  auto R = std::get<0>(at::linalg_qr(torch::randn({8, 8}, f64))).contiguous().requires_grad_(true);
  auto skew = torch::randn({8, 8}, f64);
  skew = skew - skew.t();
  for (double alpha : {0.0, 0.75}) {
    ApcOptions o;
    o.alpha = alpha, o.k_pull = 6, o.k_push = 4;
    auto loss = [&](const torch::Tensor& r) { return apc_loss(h.matmul(r).matmul(W.t()), ft, pt, o).loss; };
    R.mutable_grad() = torch::Tensor();
    loss(R).backward();
    // d/dt L(R exp(t A)) at 0 = <G, R A>.
    const double analytic = (R.grad() * R.detach().matmul(skew)).sum().item<double>();
    const double eps = 1e-6;
    torch::NoGradGuard no_grad;
    const double numeric = (loss(R.matmul(torch::matrix_exp(eps * skew))) - loss(R.matmul(torch::matrix_exp(-eps * skew))))
                               .item<double>() / (2 * eps);
    EXPECT_NEAR(analytic, numeric, 1e-7 * std::max(1.0, std::abs(numeric))) << "alpha " << alpha;
    EXPECT_GT(std::abs(analytic), 1e-4) << "a direction the loss depends on";
  }
}

TEST(ApcLoss, CachedTargetsGiveTheSameLossAndEverySwitchChangesIt) {
  ApcOptions o;
  o.k_pull = 3, o.k_push = 2;
  const auto q = tensor(kQ), ft = tensor(kFt), pt = tensor(kPt);
  const double base = apc_loss(q, ft, pt, o).loss.item<double>();
  EXPECT_DOUBLE_EQ(apc_loss(q, apc_targets(ft, pt, o), o).loss.item<double>(), base);
  std::vector<std::pair<const char*, ApcOptions>> variants;
  ApcOptions v = o;
  v.renormalise = false, variants.push_back({"renormalise", v});
  v = o, v.push_on_logits = true, variants.push_back({"push_set", v});
  v = o, v.k_pull = 5, variants.push_back({"k_pull", v});
  v = o, v.k_push = 4, variants.push_back({"k_push", v});
  v = o, v.alpha = 0.25, variants.push_back({"alpha", v});
  for (const auto& [name, opt] : variants) {
    const double got = apc_loss(q, ft, pt, opt).loss.item<double>();
    EXPECT_GT(std::abs(got - base), 1e-6) << name;
    const Expected want = reference(kQ, kFt, kPt, opt);
    EXPECT_NEAR(got, want.pull - opt.alpha * want.push, 1e-9) << name << " as documented";
  }
}

}  // namespace
}  // namespace qlab
