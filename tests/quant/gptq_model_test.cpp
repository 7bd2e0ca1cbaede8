// GPTQ over a model (quantize_weights_gptq): against the plain per-linear
// path written out here (one Hessian accumulated at every linear's input, one
// gptq_quantize per linear, true-sequential stages); and which linears share
// an input (shared_input_groups).
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <memory>

#include "core/model/init.h"
#include "core/quant/gptq.h"
#include "core/quant/online.h"
#include "core/quant/quantize_model.h"

namespace qlab {
namespace {

// hidden 64, 4 heads of 16, 2 KV heads (k and v narrower than q), intermediate 96.
Model tiny_model(uint64_t seed) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = 100, c.hidden_size = 64, c.intermediate_size = 96, c.num_layers = 2;
  c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = 16, c.max_position = 256;
  c.rms_norm_eps = 1e-6;
  return init_model(c, seed, 0.2);
}

// The matmul op of core/quant/online.h on x's last dimension.
OnlineOp matmul_op(const torch::Tensor& M) {
  return make_online_op("matmul", {}, {{"M", M}}, torch::kCPU, torch::kFloat32, "test");
}

// Every linear its own Hessian from its own capture and its own GPTQ call.
void per_linear_gptq(Model& model, const QuantConfig& cfg, const torch::Tensor& calibration,
                     const GptqRunOptions& options) {
  torch::NoGradGuard no_grad;
  auto pos = model.positions({}, calibration.size(1), 0);
  std::vector<torch::Tensor> hidden;
  for (int64_t i = 0; i < calibration.size(0); i += options.batch_size)
    hidden.push_back(model.embed_tokens(calibration.narrow(0, i, std::min(options.batch_size, calibration.size(0) - i))));
  for (size_t li = 0; li < model.layers.size(); ++li) {
    for (auto& stage : sequential_stages(model.layers[li])) {
      std::vector<std::shared_ptr<HessianAccumulator>> accs;
      for (Linear* lin : stage) {
        accs.push_back(std::make_shared<HessianAccumulator>(lin->weight.size(1)));
        lin->input_ops.push_back(capture_op([acc = accs.back()](const torch::Tensor& x) { acc->add(x); }));
      }
      for (auto& h : hidden) model.layer_forward(li, h, pos);
      for (size_t j = 0; j < stage.size(); ++j) {
        stage[j]->input_ops.pop_back();
        stage[j]->weight = gptq_quantize(stage[j]->weight, accs[j]->hessian(), cfg, options.gptq).weight;
      }
    }
    for (auto& h : hidden) h = model.layer_forward(li, h, pos);
  }
}

// The shared Hessian is the per-linear one to the last bit; the stacked GPTQ
// call may round its block products differently from separate calls
// (Gptq.StackedRowsEqualSeparateCallsToRounding), hence float32 rounding, far
// below a grid step (>= 1e-2 here). On this machine the two agree bit for bit.
void expect_same_weights(Model& a, Model& b, const std::string& what) {
  for (size_t li = 0; li < a.layers.size(); ++li)
    for (const auto& s : layer_linears()) {
      const torch::Tensor &x = (a.layers[li].*s.member).weight, &y = (b.layers[li].*s.member).weight;
      EXPECT_TRUE(torch::allclose(x, y, 0, 1e-6))
          << what << ": layer " << li << " " << s.name << " max diff " << (x - y).abs().max().item<double>();
    }
}

TEST(GptqModel, SharedHessiansGiveThePerLinearWeights) {
  torch::manual_seed(3);
  const torch::Tensor calibration = torch::randint(100, {7, 24});
  QuantConfig w4;
  w4.bits = 4;
  w4.clip_search = true;
  QuantConfig g16;
  g16.bits = 3;
  g16.symmetric = false;
  g16.granularity = Granularity::PerGroup;
  g16.groupsize = 16;
  struct Case { QuantConfig cfg; bool act_order, static_groups; int64_t blocksize; };
  for (const Case& c : {Case{w4, false, false, 128}, Case{w4, true, false, 24}, Case{g16, false, false, 24},
                        Case{g16, true, true, 32}}) {
    GptqRunOptions o;
    o.batch_size = 3;                          // batches of 3, 3 and 1 windows
    o.gptq.act_order = c.act_order;
    o.gptq.static_groups = c.static_groups;
    o.gptq.blocksize = c.blocksize;
    Model expected = tiny_model(5), got = tiny_model(5);
    per_linear_gptq(expected, c.cfg, calibration, o);
    quantize_weights_gptq(got, c.cfg, calibration, o);
    expect_same_weights(got, expected, c.cfg.describe() + (c.act_order ? " act_order" : ""));
  }
}

TEST(GptqModel, LinearsWithOtherInputOpsKeepTheirOwnHessian) {
  torch::manual_seed(4);
  const torch::Tensor calibration = torch::randint(100, {4, 16});
  QuantConfig w4;
  w4.bits = 4;
  GptqRunOptions o;
  o.batch_size = 2;
  Model expected = tiny_model(6), got = tiny_model(6);
  const torch::Tensor M = torch::eye(64) + 0.1 * torch::randn({64, 64});
  for (Model* m : {&expected, &got})
    for (Layer& l : m->layers) {
      // k sees its input shifted (not scaled: GPTQ is invariant to H's scale);
      // gate and up one matrix (two records of one tensor), so they still share.
      l.k.input_ops.push_back(transient_op("shift", [](const torch::Tensor& x) { return x + 0.5; }));
      l.gate.input_ops.push_back(matmul_op(M));
      l.up.input_ops.push_back(matmul_op(M));
    }
  per_linear_gptq(expected, w4, calibration, o);
  quantize_weights_gptq(got, w4, calibration, o);
  expect_same_weights(got, expected, "k shifted");
}

TEST(GptqModel, SharedInputGroups) {
  Model m = tiny_model(7);
  Layer& l = m.layers[0];
  using Groups = std::vector<std::vector<Linear*>>;
  EXPECT_EQ(shared_input_groups({&l.q, &l.k, &l.v}), (Groups{{&l.q, &l.k, &l.v}}));
  EXPECT_EQ(shared_input_groups({&l.o}), (Groups{{&l.o}}));
  // A transient op's function is not in its record: never shared, even with itself.
  const OnlineOp doubled = transient_op("double", [](const torch::Tensor& x) { return 2 * x; });
  l.q.input_ops.push_back(doubled);
  l.k.input_ops.push_back(doubled);
  EXPECT_EQ(shared_input_groups({&l.q, &l.k, &l.v}), (Groups{{&l.q}, {&l.k}, {&l.v}}));
  // Saved records: the same tensor shares, an equal copy of it does not (only
  // identity is checked), and a different kind does not.
  const torch::Tensor M = torch::randn({64, 64});
  l.gate.input_ops.push_back(matmul_op(M));
  l.up.input_ops.push_back(matmul_op(M));
  EXPECT_EQ(shared_input_groups({&l.gate, &l.up}), (Groups{{&l.gate, &l.up}}));
  l.up.input_ops.back() = matmul_op(M.clone());
  EXPECT_EQ(shared_input_groups({&l.gate, &l.up}), (Groups{{&l.gate}, {&l.up}}));
  l.up.input_ops.back() = make_online_op("hadamard", {{"n", 64}}, {}, torch::kCPU, torch::kFloat32, "test");
  EXPECT_EQ(shared_input_groups({&l.gate, &l.up}), (Groups{{&l.gate}, {&l.up}}));
}

}  // namespace
}  // namespace qlab
