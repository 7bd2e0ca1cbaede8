// OSTQuant's transforms on a real (tiny, random-weight) model in float64:
// with quantizers off the transformed network computes the original one's
// logits, at its initialisation, after optimiser steps taken with 4-bit
// quantizers on, and once baked; training on the KL loss lowers it; the KLT
// start diagonalises the covariances it was built from (recomputed here from
// the weights); and the whole method through the binary on stories260K.
#include <gtest/gtest.h>

#include "core/learn/apc_loss.h"
#include "core/learn/stiefel.h"
#include "core/model/model.h"
#include "core/quant/hadamard.h"
#include "core/quant/orthogonal.h"
#include "core/quant/rotation.h"
#include "core/store.h"
#include "plugins/common/learned.h"
#include "plugins/common/learned_transforms.h"
#include "stories.h"
#include "test_util.h"

namespace qlab {
namespace {

Model golden(const std::string& family) {
  return Model::load(test::fixtures() + "/golden/" + family, torch::kCPU, torch::kFloat64);
}

torch::Tensor ids_for(const Model& m) {
  torch::manual_seed(11);
  return torch::randint(m.config.vocab_size, {2, 16}, torch::kLong);
}

double relative(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm() / b.to(torch::kFloat64).norm()).item<double>();
}

// 4-bit activations, KV and weights, as a W4A4KV4 rtn step would set them.
LearningQuantizers four_bits() {
  LearningQuantizers q;
  QuantConfig act;
  act.bits = 4, act.symmetric = false, act.granularity = Granularity::PerToken;
  q.online.act = q.online.down_act = q.online.o_act = act;
  QuantConfig kv = act;
  kv.granularity = Granularity::PerGroup, kv.groupsize = 16;
  q.online.k = q.online.v = kv;
  q.weights.bits = 4;
  return q;
}

// The fused model with OSTQuant's transforms attached live from the KLT start,
// R3/R4 online Hadamards and float64 weight ops.
struct Transformed {
  Model model;
  OnlineSpec spec;
  LearnedTransforms t;
  explicit Transformed(const std::string& family)
      : model(golden(family)),
        t{Rotations(model, 7, false, true, nullptr, torch::kFloat64), Scales(model.config, torch::kFloat64)} {
    fuse_norms(model, /*subtract_embedding_mean=*/false);
    t.rot = Rotations(model, 7, false, true, &model, torch::kFloat64);
    spec.down_hadamard = spec.qk_hadamard = true;
    attach_online_hadamards(model, spec, "fixed");
    for (auto& p : t.rot.params()) p.requires_grad_(true);
    for (auto& p : t.scales.params()) p.requires_grad_(true);
    t.attach(model, spec, "learn", /*live=*/true);
    for (auto& [name, lin] : model.all_linears()) lin->transform_dtype = torch::kFloat64;
  }
};

class OstQuantTransforms : public ::testing::TestWithParam<std::string> {};

TEST_P(OstQuantTransforms, PreserveTheFunctionAtInitAfterStepsAndBaked) {
  const Model original = golden(GetParam());
  const auto ids = ids_for(original);
  const auto want = original.forward(ids);
  Transformed x(GetParam());
  EXPECT_LT(relative(x.model.forward(ids), want), 1e-5) << "at the KLT initialisation";

  attach_learning_quantizers(x.model, four_bits());
  const double quantized_gap = relative(x.model.forward(ids), want);
  EXPECT_GT(quantized_gap, 1e-3) << "the quantizers are on";
  RiemannianAdam opt(x.t.rot.params(), 0.05, {}, x.t.scales.params(), 2.0);
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    teacher_kl(x.model.forward(ids), want, 0).backward();
    opt.step();
  }
  double moved = 0;
  for (auto& p : x.t.scales.params()) moved = std::max(moved, p.abs().max().item<double>());
  EXPECT_GT(moved, 0.05) << "every scale had a gradient and moved";
  for (auto& p : x.t.rot.params()) EXPECT_LT(orthogonality_error(p), 1e-10);
  const auto quantized = x.model.forward(ids);
  {
    QuantizersOff off(x.model);
    EXPECT_LT(relative(x.model.forward(ids), want), 1e-5) << "after three steps, quantizers off";
  }
  EXPECT_EQ(relative(x.model.forward(ids), quantized), 0.0) << "the quantizers are back where they were";

  x.model.detach(kQuantTag);
  x.model.detach("learn");
  {
    torch::NoGradGuard no_grad;
    x.t.attach(x.model, x.spec, "ost", /*live=*/false);
    x.model.bake();
  }
  EXPECT_LT(relative(x.model.forward(ids), want), 1e-5) << "baked, the norm side folded into the RMSNorms";
  for (const Layer& l : x.model.layers) EXPECT_GT(l.input_norm.min().item<double>(), 0.0);
}

TEST_P(OstQuantTransforms, TrainingLowersTheKlLoss) {
  const Model original = golden(GetParam());
  const auto ids = ids_for(original);
  const auto want = original.forward(ids);
  Transformed x(GetParam());
  // A4KV4 with 16-bit weights, as OSTQuant learns when GPTQ follows; the
  // plugin's default learning rates (rotations 0.01, scales 0.005).
  LearningQuantizers q = four_bits();
  q.weights.bits = 16;
  attach_learning_quantizers(x.model, q);
  auto loss = [&] { return teacher_kl(x.model.forward(ids), want, 0); };
  const double before = loss().item<double>();
  RiemannianAdam opt(x.t.rot.params(), 0.01, {}, x.t.scales.params(), 0.5);
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    loss().backward();
    opt.step();
  }
  const double after = loss().item<double>();
  std::cout << GetParam() << " A4KV4 KL to the full-precision model: " << before << " -> " << after << "\n";
  EXPECT_LT(after, before);
  for (auto& p : x.t.scales.params()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(Families, OstQuantTransforms, ::testing::Values("llama2", "qwen2"));

// Q^T C Q diagonal up to rounding, relative to C.
double off_diagonal(const torch::Tensor& Q, const torch::Tensor& C) {
  auto d = Q.t().matmul(C).matmul(Q);
  return (d - torch::diag(torch::diagonal(d))).abs().max().item<double>() / C.abs().max().item<double>();
}

TEST(OstQuantInit, KltIsOrthogonalAndDiagonalisesItsCovariance) {
  torch::manual_seed(3);
  auto A = torch::randn({12, 30}, torch::kFloat64);
  auto C = A.matmul(A.t());
  auto Q = klt_basis(C);
  EXPECT_LT(orthogonality_error(Q), 1e-12);
  EXPECT_LT(off_diagonal(Q, C), 1e-12);
  auto d = torch::diagonal(Q.t().matmul(C).matmul(Q));
  for (int64_t i = 1; i < d.size(0); ++i) EXPECT_GE(d[i - 1].item<double>(), d[i].item<double>()) << "descending";

  // The pipeline's start: R = Q H, so R H^T must diagonalise the covariances,
  // recomputed here from the fused weights.
  Model m = golden("llama2");
  fuse_norms(m, false);
  Rotations r(m, 5, false, true, &m, torch::kFloat64);
  const auto& c = m.config;
  auto cov = torch::zeros({c.hidden_size, c.hidden_size}, torch::kFloat64);
  for (const Layer& l : m.layers)
    for (const Linear* lin : {&l.q, &l.k, &l.v, &l.gate, &l.up}) cov += lin->weight.t().matmul(lin->weight);
  EXPECT_LT(orthogonality_error(r.head), 1e-10);
  EXPECT_LT(off_diagonal(r.head.matmul(initial_rotation(c.hidden_size, 5).t()), cov), 1e-10);
  ASSERT_EQ(r.values[1].size(), size_t(c.num_kv_heads));
  for (int64_t g = 0; g < c.num_kv_heads; ++g) {
    auto w = m.layers[1].v.weight.narrow(0, g * c.head_dim, c.head_dim);
    auto H = random_hadamard_matrix(c.head_dim, 5 + 1 + 1);
    EXPECT_LT(orthogonality_error(r.values[1][g]), 1e-10);
    EXPECT_LT(off_diagonal(r.values[1][g].matmul(H.t()), w.matmul(w.t())), 1e-10) << "KV head " << g;
  }
}

const std::string kGptq = "{gptq: {w_bits: 4, a_bits: 4, kv_bits: 4, dataset: stories, nsamples: 16, seqlen: 128}}";

TEST(OstQuant, LearnsOnStories260K) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("ostquant");
  const std::string ost = "{ostquant: {dataset: stories, nsamples: 16, seqlen: 64, batch: 4, steps: 10}}";
  auto r = test::run_qlab({"run", test::write_study(dir, {"[" + ost + ", " + kGptq + "]"})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const RunRecord run = read_runs(dir + "/sq.h5").at(0);
  ASSERT_EQ(run.status, "complete") << run.error;
  const auto& m = run.output.metrics;
  EXPECT_LT(m.at("ostquant.probe_loss_after"), m.at("ostquant.probe_loss_before"));
  EXPECT_EQ(std::get<std::vector<double>>(run.output.arrays.at("ostquant.loss")).size(), 10u);
  EXPECT_LT(m.at("ostquant.orthogonality_error"), 1e-6);
  EXPECT_GT(m.at("ostquant.scale_log_max"), 1e-4) << "the scales moved";
  EXPECT_GT(m.at("ostquant.scale_min"), 0.0);
  std::cout << "OSTQuant on stories260K: KL (held batches) " << m.at("ostquant.probe_loss_before") << " -> "
            << m.at("ostquant.probe_loss_after") << ", scales in [" << m.at("ostquant.scale_min") << ", "
            << m.at("ostquant.scale_max") << "], W4A4KV4 GPTQ ppl " << m.at("perplexity.ppl") << "\n";
}

}  // namespace
}  // namespace qlab
