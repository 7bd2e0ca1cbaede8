// The AAQ study files expand as their comments say: aaq_safety's six
// pipelines over four zipped aligned / base pairs in AAQ's W4A4KV4 setting,
// and aaq_ablation's alpha x K grid.
#include <gtest/gtest.h>

#include <set>

#include "core/study.h"
#include "test_util.h"

namespace qlab {
namespace {

std::string golden(const std::string& family) { return test::fixtures() + "/golden/" + family; }

TEST(AaqStudies, SafetyTableZipsFourPairsWithSixPipelines) {
  // Four distinct pairs (each fixture paired with itself as its "base").
  const std::string list = "[" + golden("llama2") + ", " + golden("llama3") + ", " + golden("qwen2") + ", " + golden("mistral") + "]";
  Study s = load_study(test::source_dir() + "/experiments/aaq_safety.yaml",
                       {"sweep.zip={model.path: " + list + ", base_model.path: " + list + "}", "data_root=/data"});
  ASSERT_EQ(s.runs.size(), 24u);
  std::set<std::string> methods, models;
  for (const RunSpec& r : s.runs) {
    const RunSteps steps = r.steps();
    methods.insert(r.axes.at("method"));
    const std::string model = r.config()["model"]["path"].Scalar();
    models.insert(model);
    EXPECT_EQ(r.config()["base_model"]["path"].Scalar(), model) << "zipped: each aligned model with its own base";
    EXPECT_EQ(steps.evaluators.size(), 4u);
    for (const Step& step : steps.methods) {
      if (step.plugin == "gptq" || step.plugin == "rtn") {
        EXPECT_EQ(step.params.get_int("w_bits"), 4);
        EXPECT_EQ(step.params.get_int("a_bits"), 4);
        EXPECT_FALSE(step.params.get_bool("a_sym"));
        EXPECT_EQ(step.params.get_int("kv_bits"), 4);
        EXPECT_FALSE(step.params.get_bool("kv_sym"));
        EXPECT_EQ(step.params.get_int("kv_groupsize"), 128);
      }
      if (step.plugin == "spinquant" || step.plugin == "ostquant" || step.plugin == "aaq") {
        EXPECT_EQ(step.params.get_int("steps"), 100);
        EXPECT_EQ(step.params.get_int("seqlen"), 2048);
        EXPECT_EQ(step.params.get_string("dataset"), "calib");
      }
      if (step.plugin == "aaq") {
        EXPECT_EQ(step.params.get_string("loss"), "apc");
        EXPECT_EQ(step.params.get_int("batch"), 4);
        EXPECT_DOUBLE_EQ(step.params.get_float("alpha"), 0.75);
        EXPECT_EQ(step.params.get_string("init"), "klt");
      }
      if (step.plugin == "ostquant") {
        EXPECT_EQ(step.params.get_string("loss"), "kl");
        EXPECT_EQ(step.params.get_int("batch"), 4);
      }
    }
  }
  EXPECT_EQ(models.size(), 4u);
  EXPECT_EQ(methods, (std::set<std::string>{"none", "rtn", "quarot+gptq", "spinquant+gptq", "ostquant+gptq", "aaq+gptq"}));
}

TEST(AaqStudies, AblationCrossesAlphaWithK) {
  Study s = load_study(test::source_dir() + "/experiments/aaq_ablation.yaml",
                       {"model.path=" + golden("llama2"), "base_model.path=" + golden("llama2"), "data_root=/data"});
  ASSERT_EQ(s.runs.size(), 15u);
  std::set<std::pair<double, int64_t>> seen;
  for (const RunSpec& r : s.runs) {
    const RunSteps steps = r.steps();
    const Step& aaq = steps.methods.at(0);
    ASSERT_EQ(aaq.plugin, "aaq");
    EXPECT_EQ(aaq.params.get_int("k_push"), aaq.params.get_int("k_pull"));
    seen.insert({aaq.params.get_float("alpha"), aaq.params.get_int("k_pull")});
  }
  std::set<std::pair<double, int64_t>> want;
  for (double a : {0.0, 0.25, 0.5, 0.75, 1.0})
    for (int64_t k : {100, 500, 1000}) want.insert({a, k});
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace qlab
