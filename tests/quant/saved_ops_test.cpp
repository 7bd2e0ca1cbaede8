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
  // A transition of rank 3 as ReSpinQuant saves one: U orthonormal, I + D orthogonal.
  auto U = random_orthogonal(d, 5).narrow(1, 0, 3).to(torch::kFloat32).contiguous();
  auto D = (random_orthogonal(3, 7) - torch::eye(3, torch::kFloat64)).to(torch::kFloat32);
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
  // A transition moved to a site of another width (down's input is the
  // intermediate size, not the hidden one) no longer fits it.
  expect_refused(replaced("\"layers.0.attn_skip\"", "\"layers.0.down.in\""),
                 "site 'layers.0.down.in': lowrank_residual tensor 'U' has shape [64, 3], expected [160, r]");
  test::write_file(description, text);
  test::write_file(dir + "/" + kOnlineTensorsFile, "truncated");
  Model fresh = Model::load(dir, torch::kCPU, torch::kFloat32);
  EXPECT_THROW(attach_saved_quantization(fresh, dir), UsageError);
}

TEST(SavedOps, ANonOrthogonalTransitionIsRefusedOnLoad) {
  // A saved change of the residual basis that is not orthogonal (a corrupted
  // or hand-edited file) would silently change the model's function.
  const std::string dir = test::temp_dir("saved_ops_nonorth");
  Model m = golden("llama2");
  const int64_t d = m.config.hidden_size;
  auto U = random_orthogonal(d, 5).narrow(1, 0, 3).to(torch::kFloat32).contiguous();
  auto D = (random_orthogonal(3, 7) - torch::eye(3, torch::kFloat64)).to(torch::kFloat32);
  D[0][0] += 0.05;
  m.layers[1].attn_skip_ops.push_back(make_online_op("lowrank_residual", {}, {{"U", U}, {"D", D}}, m.device, m.dtype, "t"));
  save_checkpoint(dir, m.config, m.checkpoint_tensors());
  save_quantization(dir, m, OnlineSpec{}, nlohmann::json::array());
  Model fresh = Model::load(dir, torch::kCPU, torch::kFloat32);
  try {
    attach_saved_quantization(fresh, dir);
    ADD_FAILURE() << "a non-orthogonal transition was accepted";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir + "/" + kQuantDescriptionFile + ": site 'layers.1.attn_skip': lowrank_residual transition is not orthogonal"),
              std::string::npos) << what;
    EXPECT_NE(what.find("(I + D)^T (I + D) - I"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace qlab
