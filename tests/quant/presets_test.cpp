// Quantizer presets of rtn/gptq: resolved at validation into the concrete
// settings (recorded in the run's config), defaulting to the preceding
// rotation method's paper; keys the study sets win; SpinQuant learns against
// the resolved settings of the step after it.
#include <gtest/gtest.h>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/study.h"
#include "plugins/common/learned.h"
#include "test_util.h"

namespace qlab {
namespace {

struct Presets : ::testing::Test {
  std::string dir = test::temp_dir("presets");
  Study load(const std::string& method) {
    test::write_file(dir + "/s.yaml", "output: " + dir + "/r.h5\nmodel: {path: " + test::fixtures() +
                                          "/golden/llama2}\ndatasets: {calib: {text: {path: " + test::source_dir() +
                                          "/experiments/data/stories_eval.txt}}}\nmethod: " + method +
                                          "\nevaluators: [{perplexity: {dataset: calib}}]\n");
    return load_study(dir + "/s.yaml");
  }
  Params last(const Study& s) { return s.runs.at(0).steps().methods.back().params; }   // a copy: callers pass temporaries
};

TEST_F(Presets, QuaRotGetsItsPapersSettings) {
  Study s = load("[quarot, {rtn: {a_bits: 4, kv_bits: 4}}]");
  const Params p = last(s);
  EXPECT_EQ(p.get_string("preset"), "quarot-paper");
  EXPECT_TRUE(p.get_bool("a_sym"));
  EXPECT_DOUBLE_EQ(p.get_float("a_clip"), 0.9);
  EXPECT_FALSE(p.get_bool("kv_sym"));
  EXPECT_DOUBLE_EQ(p.get_float("kv_clip"), 0.95);
  EXPECT_TRUE(p.get_bool("w_clip_search"));
  EXPECT_FALSE(p.get_bool("o_per_head"));
  // The resolved settings are part of the run's config (and so of its hash).
  const std::string& yaml = s.runs[0].config_yaml;
  EXPECT_NE(yaml.find("preset: \"quarot-paper\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("a_clip: 0.9"), std::string::npos) << yaml;
}

TEST_F(Presets, WithoutRotationTheSchemaDefaults) {
  const Params p = last(load("[{rtn: {a_bits: 4}}]"));
  EXPECT_EQ(p.get_string("preset"), "none");
  EXPECT_FALSE(p.get_bool("a_sym"));
  EXPECT_DOUBLE_EQ(p.get_float("a_clip"), 1.0);
  EXPECT_FALSE(p.get_bool("w_clip_search"));
}

TEST_F(Presets, NamedPresetAndExplicitKeysWin) {
  const Params none = last(load("[quarot, {rtn: {preset: none}}]"));
  EXPECT_FALSE(none.get_bool("a_sym"));
  EXPECT_DOUBLE_EQ(none.get_float("a_clip"), 1.0);
  const Params mixed = last(load("[quarot, {gptq: {dataset: calib, a_clip: 0.8}}]"));
  EXPECT_TRUE(mixed.get_bool("a_sym"));
  EXPECT_DOUBLE_EQ(mixed.get_float("a_clip"), 0.8);
  const Params named = last(load("[{rtn: {preset: spinquant-paper}}]"));
  EXPECT_TRUE(named.get_bool("o_per_head"));
  EXPECT_FALSE(named.get_bool("a_sym"));
  EXPECT_TRUE(named.get_bool("w_clip_search"));
}

TEST_F(Presets, UnknownPresetIsALocatedError) {
  try {
    load("[quarot, {rtn: {preset: quarot}}]");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("s.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'preset' for method 'rtn': 'quarot' is not one of auto, none, quarot-paper, "
                                         "spinquant-paper"),
              std::string::npos)
        << e.what();
  }
}

// SpinQuant reads the quantizers of the step after it: the resolved
// spinquant-paper settings (asymmetric activations, o_proj per head).
TEST_F(Presets, SpinQuantLearnsAgainstTheResolvedPreset) {
  Study s = load("[{spinquant: {dataset: calib}}, {gptq: {dataset: calib, a_bits: 4, kv_bits: 4}}]");
  const Params p = last(s);
  EXPECT_EQ(p.get_string("preset"), "spinquant-paper");
  Workspace ws(s.runs[0]);
  ws.set_step(0);
  LearningQuantizers q = learning_quantizers(ws, "spinquant");
  EXPECT_EQ(q.online.act.bits, 4);
  EXPECT_FALSE(q.online.act.symmetric);
  EXPECT_DOUBLE_EQ(q.online.act.clip_ratio, 1.0);
  EXPECT_EQ(q.online.o_act.granularity, Granularity::PerGroup);
  EXPECT_EQ(q.online.o_act.groupsize, ws.model().config.head_dim);
  EXPECT_FALSE(q.online.k.symmetric);
}

}  // namespace
}  // namespace qlab
