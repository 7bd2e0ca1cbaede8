// q/k/v and gate/up as one block of rows (core/model/linear_blocks.h): the
// forward's one GEMM over a block against one product each, when a block is
// made, kept and broken, and what saving sees.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/model/linear_blocks.h"
#include "core/model/model.h"
#include "core/quant/quantize_model.h"
#include "core/quant/quantizer.h"
#include "test_models.h"
#include "test_util.h"

namespace qlab {
namespace {

bool blocked(const Layer& l) {
  return block_of({&l.q, &l.k, &l.v}).has_value() && block_of({&l.gate, &l.up}).has_value();
}

// A copy of m whose layers hold their q/k/v and gate/up as blocks.
Model blocked_copy(const Model& m) {
  Model c = copy_model(m);
  for (Layer& l : c.layers) place_adjacent(l);
  return c;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The logits of a blocked model against one product per linear: bit for bit
// on the CPU, where the forward runs one product each all the same
// (model.cpp's SharedInput says why); on the GPU, whose one GEMM over a block
// may sum in another order than three, to float32 rounding.
bool same_logits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.is_cuda() ? torch::allclose(a, b, 1e-5, 1e-5) : a.equal(b);
}

TEST(LinearBlocks, OneGemmPerBlockIsTheSeparateProducts) {
  std::vector<torch::Device> devices{torch::kCPU};
  if (torch::cuda::is_available()) devices.emplace_back(torch::kCUDA);
  for (torch::Device device : devices)
    for (std::string kind : {"llama_gqa", "qwen2"}) {   // qwen2: q/k/v biases, a block of them too
      auto m = test::random_model(test::tiny_config(kind), 41);
      m.to(device, torch::kFloat32);
      ASSERT_FALSE(block_of({&m.layers[0].q, &m.layers[0].k, &m.layers[0].v}).has_value());
      auto b = blocked_copy(m);
      for (const Layer& l : b.layers) EXPECT_TRUE(blocked(l)) << kind << " " << device;
      auto ids = torch::randint(0, m.config.vocab_size, {2, 7}, torch::TensorOptions(torch::kLong).device(device));
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(same_logits(b.forward(ids), m.forward(ids))) << kind << " " << device;
    }
}

TEST(LinearBlocks, InPlaceEditsLandInTheBlockAndAReplacedWeightFallsBack) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 43);
  auto b = blocked_copy(m);
  auto ids = torch::randint(0, m.config.vocab_size, {1, 6}, torch::kLong);
  torch::NoGradGuard no_grad;
  for (Model* x : {&m, &b}) {
    x->layers[0].k.weight.mul_(1.5);
    x->layers[1].up.weight.copy_(x->layers[1].up.weight.flip(0));
  }
  EXPECT_TRUE(blocked(b.layers[0]) && blocked(b.layers[1]));
  EXPECT_TRUE(block_of({&b.layers[0].q, &b.layers[0].k, &b.layers[0].v})->weight.narrow(0, 64, 32).equal(m.layers[0].k.weight));
  EXPECT_TRUE(same_logits(b.forward(ids), m.forward(ids)));
  // A method that replaces a tensor (GPTQ, a baked rotation) breaks its block.
  b.layers[0].v.weight = b.layers[0].v.weight * 0.5;
  m.layers[0].v.weight = m.layers[0].v.weight * 0.5;
  EXPECT_FALSE(block_of({&b.layers[0].q, &b.layers[0].k, &b.layers[0].v}).has_value());
  EXPECT_TRUE(block_of({&b.layers[0].gate, &b.layers[0].up}).has_value());
  EXPECT_TRUE(same_logits(b.forward(ids), m.forward(ids)));
}

TEST(LinearBlocks, NoBlockForWeightOpsDifferentInputsOrAGraph) {
  auto m = blocked_copy(test::random_model(test::tiny_config("llama_gqa"), 47));
  Layer& l = m.layers[0];
  ASSERT_TRUE(blocked(l));
  l.k.input_ops.push_back(capture_op([](const torch::Tensor&) {}));   // a capture must see k's input alone
  EXPECT_FALSE(block_of({&l.q, &l.k, &l.v}).has_value());
  l.k.input_ops.clear();
  l.v.weight_ops.push_back({"scale", "t", {}, [](const Affine& a, torch::ScalarType) { return a; }});
  EXPECT_FALSE(block_of({&l.q, &l.k, &l.v}).has_value());
  l.v.weight_ops.clear();
  l.gate.weight.requires_grad_(true);   // training: the graph goes through each weight
  EXPECT_FALSE(block_of({&l.gate, &l.up}).has_value());
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(block_of({&l.gate, &l.up}).has_value());
  }
  l.gate.weight.requires_grad_(false);
  EXPECT_TRUE(blocked(l));
}

TEST(LinearBlocks, QuantizedWeightsAreBlockedAgain) {
  auto m = blocked_copy(test::random_model(test::tiny_config("llama_gqa"), 59));
  const torch::Tensor before = m.layers[1].up.weight.clone();
  QuantConfig cfg;
  cfg.bits = 4;
  quantize_weights_rtn(m, cfg);   // a new tensor for every weight
  EXPECT_FALSE(m.layers[1].up.weight.equal(before));
  for (const Layer& l : m.layers) EXPECT_TRUE(blocked(l));
}

TEST(LinearBlocks, LoadedMovedAndCopiedModelsHoldBlocksAndSaveTheSameBytes) {
  for (std::string kind : {"llama_gqa", "qwen2"}) {
    auto m = test::random_model(test::tiny_config(kind), 53);
    const std::string dir = test::temp_dir("blocks-" + kind), again = test::temp_dir("blocks-again-" + kind);
    test::write_checkpoint(m, dir);
    auto loaded = Model::load(dir, torch::kCPU, torch::kFloat32);
    for (const Layer& l : loaded.layers) EXPECT_TRUE(blocked(l)) << kind;
    auto copied = copy_model(loaded);
    copied.to(torch::kCPU, torch::kBFloat16);
    for (const Layer& l : copied.layers) EXPECT_TRUE(blocked(l)) << kind;
    EXPECT_TRUE(copied.layers[0].q.weight.data_ptr() != loaded.layers[0].q.weight.data_ptr());
    // Saving sees each linear's own rows.
    test::write_checkpoint(loaded, again);
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const auto name = entry.path().filename().string();
      EXPECT_EQ(bytes_of(entry.path().string()), bytes_of(again + "/" + name)) << kind << " " << name;
    }
  }
}

}  // namespace
}  // namespace qlab
