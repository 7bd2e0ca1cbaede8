// ReSpinQuant: per-layer residual bases with the skip path's transitions.
// With exact transitions (rank = hidden size) any choice of bases leaves the
// full-precision function unchanged; a lower rank approximates each
// transition by an orthogonal matrix whose error falls with the rank; end to
// end on stories260K it learns, and a rank ablation shares one training.
#include <gtest/gtest.h>

#include "core/model/model.h"
#include "core/quant/online.h"
#include "core/quant/orthogonal.h"
#include "core/quant/rotation.h"
#include "core/store.h"
#include "stories.h"
#include "test_util.h"

namespace qlab {
namespace {

torch::Tensor logprobs(const Model& m, const torch::Tensor& ids) {
  torch::NoGradGuard ng;
  return torch::log_softmax(m.forward(ids).to(torch::kFloat64), -1);
}

// Layer-wise bases near a shared start (as learned ones stay), transitions at `rank`.
double max_change_with_rank(const std::string& family, int64_t rank) {
  Model m = Model::load(test::fixtures() + "/golden/" + family, torch::kCPU, torch::kFloat32);
  torch::manual_seed(0);
  auto ids = torch::randint(m.config.vocab_size, {2, 16}, torch::kLong);
  auto before = logprobs(m, ids);
  torch::NoGradGuard ng;
  fuse_norms(m, false);
  const int64_t d = m.config.hidden_size;
  const size_t L = m.layers.size();
  auto start = random_orthogonal(d, 1);
  auto near = [&](uint64_t seed) {   // start times a small rotation exp(0.3 S), S skew
    torch::manual_seed(seed);
    auto S = torch::randn({d, d}, torch::kFloat64);
    return start.matmul(torch::matrix_exp(0.3 * (S - S.t()) / std::sqrt(double(d))));
  };
  ResidualBases b;
  for (size_t i = 0; i < L; ++i) b.attn_in.push_back(near(10 + i)), b.mlp_in.push_back(near(20 + i));
  b.head = near(30);
  attach_residual_rotation(m, b, "t");
  m.bake();
  for (size_t i = 0; i < L; ++i) {
    auto add = [&](std::vector<OnlineOp>& site, const torch::Tensor& from, const torch::Tensor& to) {
      LowRankTransition t = approximate_transition(from.t().matmul(to), rank);
      site.push_back(make_online_op("lowrank_residual", {}, {{"U", t.U}, {"D", t.D}}, m.device, m.dtype, "t"));
    };
    add(m.layers[i].attn_skip_ops, b.attn_in[i], b.mlp_in[i]);
    add(m.layers[i].mlp_skip_ops, b.mlp_in[i], i + 1 < L ? b.attn_in[i + 1] : b.head);
  }
  return (logprobs(m, ids) - before).abs().max().item<double>();
}

class LayerwiseBases : public ::testing::TestWithParam<std::string> {};

TEST_P(LayerwiseBases, ExactTransitionsPreserveTheFunctionAndLowRankOnesDoNot) {
  const int64_t d = Model::load(test::fixtures() + "/golden/" + GetParam(), torch::kCPU, torch::kFloat32).config.hidden_size;
  EXPECT_LT(max_change_with_rank(GetParam(), d), 1e-4);
  EXPECT_GT(max_change_with_rank(GetParam(), 0), 1e-3) << "without transitions the skip path is in the wrong basis";
}

INSTANTIATE_TEST_SUITE_P(Families, LayerwiseBases, ::testing::Values("llama2", "qwen2", "mistral"));

TEST(ApproximateTransition, OrthogonalWithErrorFallingInTheRank) {
  const int64_t d = 32;
  torch::manual_seed(2);
  auto S = torch::randn({d, d}, torch::kFloat64);
  auto T = torch::matrix_exp(0.2 * (S - S.t()));
  double previous = 1e9;
  for (int64_t r : {0, 2, 8, 16, 32}) {
    LowRankTransition t = approximate_transition(T, r);
    auto hat = torch::eye(d, torch::kFloat64) + t.U.matmul(t.D).matmul(t.U.t());
    EXPECT_LT((hat.t().matmul(hat) - torch::eye(d, torch::kFloat64)).abs().max().item<double>(), 1e-10) << r;
    EXPECT_NEAR(t.error, (hat - T).norm().item<double>(), 1e-12);
    EXPECT_LE(t.error, previous + 1e-12) << r;
    previous = t.error;
  }
  EXPECT_LT(previous, 1e-10) << "full rank is exact";
  EXPECT_NEAR(approximate_transition(T, 0).error, (T - torch::eye(d, torch::kFloat64)).norm().item<double>(), 1e-12);
}

TEST(ReSpinQuant, LearnsAndARankAblationSharesOneTraining) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("respinquant");
  const std::string rtn = "{rtn: {w_bits: 4, a_bits: 4, kv_bits: 4}}";
  auto learn = [](int rank) {
    return "{respinquant: {dataset: stories, nsamples: 32, seqlen: 64, batch: 4, steps: 40, rank: " + std::to_string(rank) + "}}";
  };
  auto r = test::run_qlab({"run", test::write_study(dir, {"[" + learn(64) + ", " + rtn + "]", "[" + learn(8) + ", " + rtn + "]",
                                                          "[" + learn(0) + ", " + rtn + "]"})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<int64_t, RunRecord> by_rank;
  for (RunRecord& run : read_runs(dir + "/sq.h5")) {
    ASSERT_EQ(run.status, "complete") << run.error;
    by_rank[YAML::Load(run.config)["method"][0]["respinquant"]["rank"].as<int64_t>()] = run;
  }
  ASSERT_EQ(by_rank.size(), 3u);
  double trained = 0;
  for (auto& [rank, run] : by_rank) trained += run.output.metrics.at("respinquant.steps_run");
  EXPECT_EQ(trained, 40) << "one training for the three ranks";
  const auto& full = by_rank.at(64).output.metrics;
  EXPECT_LT(full.at("respinquant.probe_loss_after"), full.at("respinquant.probe_loss_before"));
  EXPECT_LT(full.at("respinquant.transition_relative_error"), 1e-8);
  EXPECT_GT(by_rank.at(8).output.metrics.at("respinquant.transition_relative_error"), 1e-3);
  EXPECT_EQ(by_rank.at(8).output.metrics.at("respinquant.online_macs_per_token"), 2 * 5 * (2 * 64 * 8 + 64));
  EXPECT_GT(full.at("respinquant.transition_deviation"), 1e-3) << "the bases moved apart";
  // With quantizers off, full rank computes what the exact transitions do;
  // rank 0 drops the change of basis on the skip path, which costs loss.
  EXPECT_NEAR(full.at("respinquant.fp_ppl_change"), 0.0, 1e-5);
  EXPECT_GT(by_rank.at(0).output.metrics.at("respinquant.fp_ppl_change"), 1e-4);
  EXPECT_DOUBLE_EQ(by_rank.at(0).output.metrics.at("respinquant.fp_loss_exact"), full.at("respinquant.fp_loss_exact"));
  EXPECT_LT(by_rank.at(64).output.metrics.at("perplexity.ppl"), by_rank.at(0).output.metrics.at("perplexity.ppl"));
  std::cout << "stories260K W4A4KV4 ReSpinQuant-RTN ppl by rank: 64 " << by_rank.at(64).output.metrics.at("perplexity.ppl")
            << ", 8 " << by_rank.at(8).output.metrics.at("perplexity.ppl") << ", 0 "
            << by_rank.at(0).output.metrics.at("perplexity.ppl") << "\n";
}

TEST(ReSpinQuant, RankAboveTheHiddenSizeFailsTheRunNamingTheKey) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("respinquant_bad");
  auto r = test::run_qlab({"run", test::write_study(dir, {"[{respinquant: {dataset: stories, nsamples: 8, seqlen: 64, "
                                                          "batch: 4, steps: 1, rank: 65}}, {rtn: {w_bits: 4}}]"})});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const RunRecord run = read_runs(dir + "/sq.h5").at(0);
  EXPECT_EQ(run.status, "failed");
  EXPECT_NE(run.error.find("rank: 65 is larger than the hidden size 64"), std::string::npos) << run.error;
}

}  // namespace
}  // namespace qlab
