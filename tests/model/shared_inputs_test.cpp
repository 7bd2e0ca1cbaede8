// q, k and v (gate and up) read one activation: where their input-op lists
// are the same ops, the forward applies them once (model.cpp's SharedInput).
// The per-linear path is the reference: the same ops under a tag of their
// own per linear, which the forward cannot take as equal.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <memory>

#include "core/model/model.h"
#include "core/quant/online.h"
#include "test_models.h"

namespace qlab {
namespace {

OnlineSpec per_token_int4() {
  OnlineSpec s;
  s.act.bits = 4, s.act.symmetric = false, s.act.granularity = Granularity::PerToken;
  return s;
}

// Each reader linear's ops retagged "<tag>.<linear>": the same computation,
// but lists the forward must run one by one.
void give_each_linear_its_own_tag(Model& m) {
  for (Layer& l : m.layers)
    for (const auto& s : layer_linears())
      for (OnlineOp& op : (l.*s.member).input_ops) op.tag += std::string(".") + s.name;
}

// A saved-looking (non-transient) op that counts its calls and passes x on.
OnlineOp counting_op(std::shared_ptr<int> calls) {
  OnlineOp op{"probe", "test", {{"n", 1}}, {}, [calls](const torch::Tensor& x) {
                ++*calls;
                return x;
              }};
  return op;
}

TEST(SharedInputs, QuantizedOnceGivesThePerLinearOutputBitForBit) {
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    Model m = test::random_model(test::tiny_config("llama_gqa"), 7);
    m.to(torch::kCPU, dtype);
    attach_quantizers(m, per_token_int4());
    Model per_linear = copy_model(m);
    give_each_linear_its_own_tag(per_linear);
    auto ids = torch::randint(100, {2, 9}, torch::kLong);
    auto shared = m.forward(ids), reference = per_linear.forward(ids);
    EXPECT_TRUE(torch::equal(shared, reference)) << dtype;
    // The quantizers do act (the comparison is not between two plain models).
    m.detach(kQuantTag);
    EXPECT_FALSE(torch::equal(m.forward(ids), reference)) << dtype;
  }
}

TEST(SharedInputs, EqualListsRunOnceAndDifferingListsEachRun) {
  Model m = test::random_model(test::tiny_config("llama_gqa"), 8);
  auto calls = std::make_shared<int>(0);
  for (Layer& l : m.layers)
    for (Linear* lin : {&l.q, &l.k, &l.v, &l.gate, &l.up}) lin->input_ops.push_back(counting_op(calls));
  auto ids = torch::randint(100, {1, 5}, torch::kLong);
  m.forward(ids);
  // Per layer: once for q, k, v and once for gate, up.
  EXPECT_EQ(*calls, 2 * 2);

  // A capture on q's input only: q's list differs, k and v still share theirs.
  int captured = 0;
  m.layers[0].q.input_ops.insert(m.layers[0].q.input_ops.begin(), capture_op([&](const torch::Tensor&) { ++captured; }));
  // Another tensor under the same name on up: a different op.
  m.layers[1].up.input_ops.front().tensors["M"] = torch::zeros({1});
  m.layers[1].gate.input_ops.front().tensors["M"] = torch::zeros({1});
  *calls = 0;
  m.forward(ids);
  EXPECT_EQ(captured, 1);
  EXPECT_EQ(*calls, (2 + 1) + (1 + 2));
}

}  // namespace
}  // namespace qlab
