// Online ops are typed records: every kind saves with its tensors and
// rebuilds to the same function, at every site (residual hooks included), and
// ops can be taken off again by tag.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/quant/online.h"
#include "core/quant/orthogonal.h"
#include "core/quant/saved_quant.h"
#include "test_util.h"

namespace qlab {
namespace {

Model golden(const std::string& family) {
  return Model::load(test::fixtures() + "/golden/" + family, torch::kCPU, torch::kFloat32);
}

torch::Tensor probe(const Model& m) {
  torch::manual_seed(3);
  torch::NoGradGuard ng;
  return m.forward(torch::randint(m.config.vocab_size, {2, 10}, torch::kLong));
}

// A model with one op of every saved kind, some with tensor payloads.
void attach_every_kind(Model& m) {
  const int64_t d = m.config.hidden_size;
  auto U = random_orthogonal(d, 5).narrow(1, 0, 3).to(torch::kFloat32).contiguous();
  auto D = 0.1 * torch::randn({3, 3});
  m.layers[0].attn_skip_ops.push_back(make_online_op("lowrank_residual", {}, {{"U", U}, {"D", D}}, m.device, m.dtype, "t"));
  m.layers[1].mlp_skip_ops.push_back(
      make_online_op("matmul", {}, {{"M", random_orthogonal(d, 6).to(torch::kFloat32)}}, m.device, m.dtype, "t"));
  OnlineSpec spec;
  spec.down_hadamard = spec.qk_hadamard = spec.o_hadamard = true;
  attach_online_hadamards(m, spec, "t");
  spec.act.bits = 4;
  spec.act.granularity = Granularity::PerToken;
  spec.o_act = spec.down_act = spec.act;
  spec.k.bits = spec.v.bits = 4;
  spec.k.symmetric = spec.v.symmetric = false;
  spec.k.granularity = spec.v.granularity = Granularity::PerToken;
  attach_quantizers(m, spec);
}

TEST(SavedOps, EveryKindReloadsToTheSameFunction) {
  const std::string dir = test::temp_dir("saved_ops");
  Model m = golden("llama3");
  const auto plain = probe(m);
  attach_every_kind(m);
  const auto with_ops = probe(m);
  ASSERT_FALSE(torch::allclose(plain, with_ops, 1e-3, 1e-3)) << "the ops must change the output";
  save_checkpoint(dir, m.config, m.checkpoint_tensors());
  save_quantization(dir, m, OnlineSpec{}, nlohmann::json::array());
  EXPECT_TRUE(std::filesystem::exists(dir + "/" + kOnlineTensorsFile));

  Model back = Model::load(dir, torch::kCPU, torch::kFloat32);
  ASSERT_TRUE(attach_saved_quantization(back, dir));
  EXPECT_TRUE(torch::equal(probe(back), with_ops));

  EXPECT_GT(back.detach(kQuantTag), 0u);
  EXPECT_GT(back.detach("t"), 0u);
  EXPECT_TRUE(torch::equal(probe(back), plain)) << "detaching by tag restores the plain model";
}

TEST(SavedOps, BrokenRecordsAreRefusedNamingTheFile) {
  const std::string dir = test::temp_dir("saved_ops_bad");
  Model m = golden("llama2");
  attach_every_kind(m);
  save_checkpoint(dir, m.config, m.checkpoint_tensors());
  save_quantization(dir, m, OnlineSpec{}, nlohmann::json::array());
  const std::string description = dir + "/" + kQuantDescriptionFile, text = test::read_file(description);
  auto expect_refused = [&](const std::string& changed, const std::string& message) {
    test::write_file(description, changed);
    Model fresh = Model::load(dir, torch::kCPU, torch::kFloat32);
    try {
      attach_saved_quantization(fresh, dir);
      ADD_FAILURE() << "accepted: " << message;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(description), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = text;
    return s.replace(s.find(from), from.size(), to);
  };
  expect_refused(replaced("\"lowrank_residual\"", "\"spline\""), "unknown online op kind 'spline'");
  expect_refused(replaced("\"layers.0.attn_skip\"", "\"layers.9.attn_skip\""), "layers.9.attn_skip");
  expect_refused(replaced("layers.0.attn_skip.0.U", "nowhere"), "nowhere");
  test::write_file(description, text);
  test::write_file(dir + "/" + kOnlineTensorsFile, "truncated");
  Model fresh = Model::load(dir, torch::kCPU, torch::kFloat32);
  EXPECT_THROW(attach_saved_quantization(fresh, dir), UsageError);
}

}  // namespace
}  // namespace qlab
