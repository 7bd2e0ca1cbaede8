// Gradients through the weight-op seam: autograd's gradient of the loss with
// respect to R1 and a layer's R2 (attached as weight ops, float64 model)
// matches central finite differences, with and without the per-layer
// recomputation (checkpoint_layers), and both give the same gradient.
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>

#include "core/model/model.h"
#include "core/quant/hadamard.h"
#include "core/quant/orthogonal.h"
#include "core/quant/rotation.h"
#include "test_util.h"

namespace qlab {
namespace {

struct Rotated {
  Model model;
  torch::Tensor r1, r2;
};

Rotated rotated(const std::string& family) {
  Rotated r{Model::load(test::fixtures() + "/golden/" + family, torch::kCPU, torch::kFloat64), {}, {}};
  fuse_norms(r.model, false);
  r.r1 = random_orthogonal(r.model.config.hidden_size, 3).requires_grad_(true);
  r.r2 = random_orthogonal(r.model.config.head_dim, 4).requires_grad_(true);
  attach_residual_rotation(r.model, shared_basis(r.r1, r.model.layers.size()), "t");
  std::vector<torch::Tensor> r2(r.model.layers.size(), hadamard_matrix(r.model.config.head_dim));
  r2[1] = r.r2;
  attach_value_rotation(r.model, r2, "t");
  for (auto& [name, lin] : r.model.all_linears()) lin->transform_dtype = torch::kFloat64;
  return r;
}

torch::Tensor ids_for(const Model& m) {
  torch::manual_seed(5);
  return torch::randint(m.config.vocab_size, {2, 12}, torch::kLong);
}

// Next-token cross-entropy in float64 throughout (Model::head returns float32
// logits, too coarse for finite differences).
torch::Tensor loss64(const Model& m, const torch::Tensor& ids) {
  auto h = m.hidden_states(ids);
  auto logits = m.lm_head.forward(rms_norm(h, m.final_norm, m.config.rms_norm_eps));
  const int64_t V = logits.size(-1);
  return torch::nn::functional::cross_entropy(logits.narrow(1, 0, ids.size(1) - 1).reshape({-1, V}),
                                              ids.narrow(1, 1, ids.size(1) - 1).reshape({-1}));
}

class Gradients : public ::testing::TestWithParam<std::string> {};

TEST_P(Gradients, MatchFiniteDifferencesWithAndWithoutRecomputation) {
  Rotated r = rotated(GetParam());
  auto ids = ids_for(r.model);
  std::vector<torch::Tensor> grads[2];
  for (bool recompute : {false, true}) {
    r.model.checkpoint_layers = recompute;
    r.r1.mutable_grad() = torch::Tensor();
    r.r2.mutable_grad() = torch::Tensor();
    loss64(r.model, ids).backward();
    grads[recompute] = {r.r1.grad().clone(), r.r2.grad().clone()};
  }
  for (size_t k = 0; k < 2; ++k) EXPECT_TRUE(torch::allclose(grads[0][k], grads[1][k], 1e-10, 1e-12)) << k;

  torch::NoGradGuard no_grad;
  torch::manual_seed(9);
  for (size_t k = 0; k < 2; ++k) {
    torch::Tensor& p = k == 0 ? r.r1 : r.r2;
    auto direction = torch::randn_like(p);
    // RMSNorm and the attention softmax compute in float32 even in a float64
    // model (as transformers does), so the loss carries float32 noise; a step
    // of 3e-4 keeps both it and the O(eps^2) truncation (measured: relative
    // error 0.14, 0.012, 0.0014, 9e-5 at steps 1e-2, 3e-3, 1e-3, 3e-4) small.
    const double eps = 3e-4;
    auto base = p.clone();
    p.copy_(base + eps * direction);
    double plus = loss64(r.model, ids).item<double>();
    p.copy_(base - eps * direction);
    double minus = loss64(r.model, ids).item<double>();
    p.copy_(base);
    double numeric = (plus - minus) / (2 * eps);
    double analytic = (grads[1][k] * direction).sum().item<double>();
    EXPECT_NEAR(analytic, numeric, 5e-4 * std::max(1.0, std::abs(numeric))) << (k == 0 ? "R1" : "R2");
    EXPECT_GT(std::abs(analytic), 1e-6) << "a zero gradient would pass trivially";
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Gradients, ::testing::Values("llama2", "qwen2"));

}  // namespace
}  // namespace qlab
