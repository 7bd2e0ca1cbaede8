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
  attach_value_rotation(m, std::vector<torch::Tensor>(m.layers.size(), hadamard_matrix(m.config.head_dim)), "test");
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
