// The paper-table studies in experiments/ load and expand as documented.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
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
    const RunSteps steps = r.steps();
    const std::string precision = r.config()["tags"]["precision"].Scalar();
    rows.insert(r.axes.at("method") + " " + precision);
    hashes.insert(r.hash);
    // Calibration text read as the papers read WikiText-2 train (rows "\n\n"-joined).
    EXPECT_TRUE(r.config()["datasets"]["calib"]["wikitext2_raw"].IsMap());
    // The tag says what the quantization step does.
    int a_bits = 16, kv_bits = 16, w_bits = 16;
    for (const Step& step : steps.methods)
      if (step.plugin == "rtn" || step.plugin == "gptq") {
        w_bits = int(step.params.get_int("w_bits"));
        a_bits = int(step.params.get_int("a_bits"));
        kv_bits = int(step.params.get_int("kv_bits"));
        EXPECT_TRUE(step.params.get_bool("w_clip_search"));
        EXPECT_EQ(step.params.get_string("preset"), quarot_settings ? "quarot-paper" : "spinquant-paper");
        EXPECT_EQ(step.params.get_bool("o_per_head"), !quarot_settings);
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
    const RunSteps steps = r.steps();
    EXPECT_EQ(steps.datasets.at("wiki").params.get_string("path"), root + "/wiki.test.raw");
    EXPECT_EQ(steps.datasets.at("calib").params.get_string("path"), root + "/wiki.train.raw");
    EXPECT_EQ(r.config()["data_root"].Scalar(), "wikitext-2-raw");
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, Experiments, ::testing::Values("quarot_table", "spinquant_baselines"));

}  // namespace
}  // namespace qlab

namespace qlab {
namespace {

TEST(StudyFiles, SpinQuantTableLearnsAgainstEachRowsQuantizers) {
  Study s = load_study(test::source_dir() + "/experiments/spinquant_table.yaml",
                       {"model.path=" + test::fixtures() + "/golden/llama2", "data_root=/data/wikitext-2-raw"});
  ASSERT_EQ(s.runs.size(), 6u);
  for (const RunSpec& r : s.runs) {
    const RunSteps steps = r.steps();
    ASSERT_EQ(steps.methods.size(), 2u);
    EXPECT_EQ(steps.methods[0].plugin, "spinquant");
    EXPECT_DOUBLE_EQ(steps.methods[0].params.get_float("lr"), 1.5);
    EXPECT_EQ(steps.methods[0].params.get_int("steps"), 100);
    EXPECT_EQ(steps.methods[0].params.get_int("batch"), 8);
    EXPECT_EQ(steps.methods[0].params.get_int("nsamples"), 800);
    const Step& q = steps.methods[1];
    const std::string p = r.config()["tags"]["precision"].Scalar();
    EXPECT_EQ(q.params.get_int("a_bits"), p == "W4A16" ? 16 : 4) << p;
    EXPECT_EQ(q.params.get_int("kv_bits"), p == "W4A4KV4" ? 4 : 16) << p;
    if (p != "W4A16") EXPECT_TRUE(q.params.get_bool("o_per_head")) << p;
  }
}

TEST(StudyFiles, AaqTableComparesFourPipelinesOnOnePair) {
  Study s = load_study(test::source_dir() + "/experiments/aaq_table.yaml",
                       {"model.path=" + test::fixtures() + "/golden/llama2",
                        "base_model.path=" + test::fixtures() + "/golden/llama2", "data_root=/data"});
  ASSERT_EQ(s.runs.size(), 4u);
  std::set<std::string> methods;
  for (const RunSpec& r : s.runs) {
    const RunSteps steps = r.steps();
    methods.insert(r.axes.at("method"));
    EXPECT_EQ(steps.evaluators.size(), 3u);
    for (const Step& step : steps.methods)
      if (step.plugin == "aaq") {
        EXPECT_DOUBLE_EQ(step.params.get_float("alpha"), 0.75);
        EXPECT_EQ(step.params.get_int("k_pull"), 500);
        EXPECT_TRUE(step.params.get_bool("renormalise"));
        EXPECT_EQ(step.params.get_int("batch"), 4);
      }
  }
  EXPECT_EQ(methods, (std::set<std::string>{"none", "quarot+gptq", "spinquant+gptq", "aaq+gptq"}));
}

// The zero-shot study: FP and QuaRot-RTN, each scoring the suite; the
// quantizing step resolves to QuaRot's paper settings.
TEST(StudyFiles, ZeroShotSuite) {
  Study s = load_study(test::source_dir() + "/experiments/zeroshot_suite.yaml",
                       {"model.path=" + test::fixtures() + "/golden/llama2"});
  ASSERT_EQ(s.runs.size(), 2u);
  for (const RunSpec& r : s.runs) {
    const RunSteps steps = r.steps();
    ASSERT_EQ(steps.evaluators.size(), 1u);
    EXPECT_EQ(steps.evaluators[0].plugin, "zeroshot");
  }
  EXPECT_EQ(s.runs[1].steps().methods.at(1).params.get_string("preset"), "quarot-paper");
}

}  // namespace
}  // namespace qlab

namespace qlab {
namespace {

TEST(StudyFiles, ReSpinQuantTablesExpandAsDocumented) {
  const std::vector<std::string> args = {"model.path=" + test::fixtures() + "/golden/llama2", "data_root=/data/wikitext-2-raw"};
  Study table = load_study(test::source_dir() + "/experiments/respinquant_table.yaml", args);
  ASSERT_EQ(table.runs.size(), 8u);
  std::set<std::string> rows;
  for (const RunSpec& r : table.runs) {
    const RunSteps steps = r.steps();
    const std::string p = r.config()["tags"]["precision"].Scalar();
    rows.insert(r.axes.at("method") + " " + p);
    const Step& q = steps.methods.back();
    EXPECT_EQ(q.plugin, "gptq");
    EXPECT_EQ(q.params.get_int("a_bits"), p == "W4A4" ? 4 : 3);
    EXPECT_EQ(q.params.get_int("kv_bits"), 16);
    for (const Step& s : steps.methods)
      if (s.plugin == "respinquant") EXPECT_EQ(s.params.get_int("rank"), 32);
  }
  for (const char* m : {"gptq", "quarot+gptq", "spinquant+gptq", "respinquant+gptq"})
    for (const char* p : {"W4A4", "W3A3"}) EXPECT_TRUE(rows.count(std::string(m) + " " + p)) << m << " " << p;

  Study ranks = load_study(test::source_dir() + "/experiments/respinquant_rank.yaml", args);
  ASSERT_EQ(ranks.runs.size(), 4u);
  std::set<int64_t> seen;
  for (const RunSpec& r : ranks.runs) seen.insert(r.steps().methods.at(0).params.get_int("rank"));
  EXPECT_EQ(seen, (std::set<int64_t>{0, 8, 32, 4096}));

  // The stories260K comparison: SpinQuant and ReSpinQuant on one budget, three
  // seeds each, every learned run 100 steps of 4 x 64 tokens.
  Study stories = load_study(test::source_dir() + "/experiments/respinquant_stories.yaml", {args.at(0)});
  ASSERT_EQ(stories.runs.size(), 18u);
  std::map<std::string, std::set<uint64_t>> seeds;
  for (const RunSpec& r : stories.runs) {
    const RunSteps steps = r.steps();
    const Step& learned = steps.methods.at(0);
    const bool layerwise = learned.plugin == "respinquant";
    seeds[r.axes.at("method") + (layerwise ? " r=" + std::to_string(learned.params.get_int("rank")) : "")].insert(r.seed);
    if (learned.plugin == "quarot") continue;
    EXPECT_EQ(learned.params.get_int("steps"), 100);
    EXPECT_EQ(learned.params.get_int("batch") * learned.params.get_int("seqlen"), 4 * 64);
  }
  EXPECT_EQ(seeds.size(), 6u);
  for (const auto& [method, s] : seeds) EXPECT_EQ(s, (std::set<uint64_t>{0, 1, 2})) << method;
}

TEST(StudyFiles, TestbedStudiesExpandToTheirSevenRows) {
  // The testbed's model folders need not exist to expand the study: their
  // paths are overridden with a checkpoint that does.
  const std::string model = test::fixtures() + "/golden/llama2";
  for (const char* name : {"quickstart", "testbed_gpu"}) {
    Study s = load_study(test::source_dir() + "/experiments/" + name + ".yaml",
                         {"model.path=" + model, "base_model.path=" + model, "data_root=/nowhere"});
    ASSERT_EQ(s.runs.size(), 7u) << name;
    std::set<std::string> rows;
    for (const RunSpec& r : s.runs) {
      rows.insert(r.axes.at("method") + " " + r.config()["tags"]["precision"].Scalar());
      EXPECT_EQ(r.config()["evaluators"].size(), 6u) << name;
    }
    for (const char* row : {"none W16A16", "rtn W8A8KV8", "rtn W4A4KV4", "quarot+rtn W4A4KV4", "spinquant+rtn W4A4KV4",
                            "respinquant+rtn W4A4KV4", "aaq+rtn W4A4KV4"})
      EXPECT_TRUE(rows.count(row)) << name << ": " << row;
  }
}

}  // namespace
}  // namespace qlab
