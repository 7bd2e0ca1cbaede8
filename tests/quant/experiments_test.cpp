// The paper-table studies in experiments/ load and expand as documented.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/study.h"
#include "test_util.h"

namespace qlab {
namespace {

// Both tables: QuaRot's quantizer settings (symmetric activations, clip 0.9,
// KV clip 0.95) and SpinQuant's (asymmetric, no clip).
class Experiments : public ::testing::TestWithParam<std::string> {};

TEST_P(Experiments, PaperTableExpandsToItsFourteenRows) {
  const std::string model = test::fixtures() + "/golden/llama2";
  Study s = load_study(test::source_dir() + "/experiments/" + GetParam() + ".yaml",
                       {"model.path=" + model, "data_root=/data/wikitext-2-raw"});
  const bool quarot_settings = GetParam() == "quarot_table";
  ASSERT_EQ(s.runs.size(), 14u);
  std::set<std::string> rows, hashes;
  for (const RunSpec& r : s.runs) {
    const std::string precision = r.config["tags"]["precision"].Scalar();
    rows.insert(r.axes.at("method") + " " + precision);
    hashes.insert(r.hash);
    // The tag says what the quantization step does.
    int a_bits = 16, kv_bits = 16, w_bits = 16;
    for (const Step& step : r.methods)
      if (step.plugin == "rtn" || step.plugin == "gptq") {
        w_bits = int(step.params.get_int("w_bits"));
        a_bits = int(step.params.get_int("a_bits"));
        kv_bits = int(step.params.get_int("kv_bits"));
        EXPECT_TRUE(step.params.get_bool("w_clip_search"));
        if (a_bits < 16) {
          EXPECT_EQ(step.params.get_bool("a_sym"), quarot_settings);
          EXPECT_DOUBLE_EQ(step.params.get_float("a_clip"), quarot_settings ? 0.9 : 1.0);
        }
        if (kv_bits < 16) EXPECT_DOUBLE_EQ(step.params.get_float("kv_clip"), quarot_settings ? 0.95 : 1.0);
      }
    const std::string expected = "W" + std::to_string(w_bits) + "A" + std::to_string(a_bits) +
                                 (kv_bits < 16 ? "KV" + std::to_string(kv_bits) : "");
    EXPECT_EQ(precision, expected) << r.axes.at("method");
  }
  EXPECT_EQ(hashes.size(), 14u);
  for (const char* m : {"rtn", "gptq", "quarot+rtn", "quarot+gptq"})
    for (const char* p : {"W4A16", "W4A8", "W4A4KV4"}) EXPECT_TRUE(rows.count(std::string(m) + " " + p)) << m << " " << p;
  EXPECT_TRUE(rows.count("none W16A16"));
  EXPECT_TRUE(rows.count("quarot W16A16"));
}

// A relative data_root reaches the readers once, joined to the working directory.
TEST_P(Experiments, RelativeDataRootResolvesAgainstTheWorkingDirectory) {
  Study s = load_study(test::source_dir() + "/experiments/" + GetParam() + ".yaml",
                       {"model.path=" + test::fixtures() + "/golden/llama2", "data_root=wikitext-2-raw"});
  const std::string root = (std::filesystem::current_path() / "wikitext-2-raw").string();
  for (const RunSpec& r : s.runs) {
    EXPECT_EQ(r.datasets.at("wiki").params.get_string("path"), root + "/wiki.test.raw");
    EXPECT_EQ(r.datasets.at("calib").params.get_string("path"), root + "/wiki.train.raw");
    EXPECT_EQ(r.config["data_root"].Scalar(), "wikitext-2-raw");
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, Experiments, ::testing::Values("quarot_table", "spinquant_baselines"));

}  // namespace
}  // namespace qlab
