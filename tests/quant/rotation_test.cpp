// Computational invariance: with quantization off, QuaRot's rotations (fused
// norms, R1, R2, online R3/R4 and the across-heads Hadamard) leave the
// log-probabilities unchanged, for all three families (GQA, Qwen2 biases and
// tied embeddings, Mistral's sliding window). Checkpoints: the golden fixtures
// saved by transformers.
#include <gtest/gtest.h>

#include "core/model/model.h"
#include "core/quant/hadamard.h"
#include "core/quant/online.h"
#include "core/quant/orthogonal.h"
#include "core/quant/rotation.h"
#include "test_util.h"

namespace qlab {
namespace {

torch::Tensor logprobs(Model& m, const torch::Tensor& ids) {
  torch::NoGradGuard ng;
  return torch::log_softmax(m.forward(ids).to(torch::kFloat64), -1);
}

torch::Tensor probe_ids(const Model& m) {
  torch::manual_seed(0);
  return torch::randint(m.config.vocab_size, {2, 24}, torch::kLong);
}

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs() / b.abs().clamp_min(1.0)).max().item<double>();
}

class Invariance : public ::testing::TestWithParam<std::string> {};

TEST_P(Invariance, RotatedModelComputesTheSameFunction) {
  std::string dir = test::fixtures() + "/golden/" + GetParam();
  Model m = Model::load(dir, torch::kCPU, torch::kFloat32);
  auto ids = probe_ids(m);
  auto before = logprobs(m, ids);

  fuse_norms(m, /*subtract_embedding_mean=*/false);
  EXPECT_LT(max_rel_diff(logprobs(m, ids), before), 1e-4) << "after fusing norms";
  attach_residual_rotation(m, shared_basis(random_orthogonal(m.config.hidden_size, 7), m.layers.size()), "test");
  // A different R2 in every layer, as SpinQuant learns them.
  std::vector<torch::Tensor> r2;
  for (size_t i = 0; i < m.layers.size(); ++i) r2.push_back(random_orthogonal(m.config.head_dim, 20 + i));
  attach_value_rotation(m, r2, "test");
  OnlineSpec spec;
  spec.down_hadamard = spec.qk_hadamard = spec.o_hadamard = true;
  attach_online_hadamard_weights(m, spec, "test");
  attach_online_hadamards(m, spec, "test");
  EXPECT_LT(max_rel_diff(logprobs(m, ids), before), 1e-4) << "attached, not baked";
  m.bake();
  auto after = logprobs(m, ids);
  EXPECT_LT(max_rel_diff(after, before), 1e-4) << "baked";
  // The weights really changed: an invariance test that rotates nothing passes trivially.
  Model original = Model::load(dir, torch::kCPU, torch::kFloat32);
  EXPECT_GT((m.layers[0].q.weight - original.layers[0].q.weight).abs().max().item<double>(), 1e-3);
}

TEST_P(Invariance, MissingOnlineHadamardBreaksInvariance) {
  // The fused half of R4 without its online half must change the output: this
  // is what makes the test above able to fail.
  Model m = Model::load(test::fixtures() + "/golden/" + GetParam(), torch::kCPU, torch::kFloat32);
  auto ids = probe_ids(m);
  auto before = logprobs(m, ids);
  OnlineSpec spec;
  spec.down_hadamard = true;
  attach_online_hadamard_weights(m, spec, "test");
  m.bake();
  EXPECT_GT(max_rel_diff(logprobs(m, ids), before), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Families, Invariance, ::testing::Values("llama3", "llama2", "qwen2", "mistral"));

TEST(Rotation, BakedWeightsAreTheDirectFloat64Products) {
  // Attach-then-bake computes what fusing by hand computes: W_q diag(g) Q,
  // Q^T W_o (then per-head H on its columns), E Q, in float64, cast once.
  Model m = Model::load(test::fixtures() + "/golden/qwen2", torch::kCPU, torch::kFloat32);
  Model original = copy_model(m);
  const auto Q = random_orthogonal(m.config.hidden_size, 8), H = random_orthogonal(m.config.head_dim, 9);
  fuse_norms(m, false);
  attach_residual_rotation(m, shared_basis(Q, m.layers.size()), "test");
  attach_value_rotation(m, std::vector<torch::Tensor>(m.layers.size(), H), "test");
  m.bake();
  auto d = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  const Layer& l = original.layers[1];
  auto q = (d(l.q.weight) * d(l.input_norm).unsqueeze(0)).matmul(Q).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(m.layers[1].q.weight, q));
  auto o = Q.t().matmul(d(l.o.weight));
  const int64_t hd = m.config.head_dim;
  o = torch::matmul(o.view({o.size(0), -1, hd}), H).reshape({o.size(0), -1}).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(m.layers[1].o.weight, o, 0, 1e-7));
  auto bv = d(l.v.bias).view({-1, hd}).matmul(H).reshape({-1}).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(m.layers[1].v.bias, bv, 0, 1e-7));
  EXPECT_TRUE(torch::equal(m.embed.weight, d(original.embed.weight).matmul(Q).to(torch::kFloat32)));
  EXPECT_TRUE(m.layers[1].q.weight_ops.empty());
}

TEST(Rotation, EmbeddingMeanSubtractionIsNotExactlyInvariant) {
  Model m = Model::load(test::fixtures() + "/golden/llama2", torch::kCPU, torch::kFloat32);
  auto ids = probe_ids(m);
  auto before = logprobs(m, ids);
  fuse_norms(m, /*subtract_embedding_mean=*/true);
  auto mean = m.embed.weight.mean(1);
  EXPECT_LT(mean.abs().max().item<double>(), 1e-5);
  EXPECT_GT(max_rel_diff(logprobs(m, ids), before), 1e-6);
}

}  // namespace
}  // namespace qlab
