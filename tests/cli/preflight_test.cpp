// Bad input stops `qlab run` before any run starts: calibration text shorter
// than one window, a data set file that is not there. Exit code 2, one line
// naming the file, and no run executed or recorded.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/store.h"
#include "test_util.h"

namespace qlab {
namespace {

struct Preflight : ::testing::Test {
  std::string dir = test::temp_dir("preflight");
  std::string study(const std::string& calibration_path) {
    test::write_file(dir + "/short.txt", "Once upon a time there was a cat.\n");
    test::write_file(dir + "/eval.txt", "The cat sat on the mat and looked at the dog for a long while.\n");
    std::string s = dir + "/s.yaml";
    test::write_file(s, "output: " + dir + "/r.h5\nmodel: {path: " + test::fixtures() + "/golden/llama2}\n" +
                            "datasets:\n  calib: {text: {path: " + calibration_path + "}}\n  eval: {text: {path: " + dir +
                            "/eval.txt}}\nevaluators: [{perplexity: {dataset: eval, seqlen: 8}}]\n"
                            "sweep:\n  grid:\n    method: [[], [{gptq: {dataset: calib, nsamples: 4, seqlen: 512}}]]\n");
    return s;
  }
  void expect_stopped_before_any_run(const test::CommandResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    // The unquantized run comes first in the sweep and would have succeeded.
    const std::string results = dir + "/r.h5";
    EXPECT_TRUE(!std::filesystem::exists(results) || read_runs(results).empty());
  }
};

TEST_F(Preflight, CalibrationShorterThanOneWindow) {
  expect_stopped_before_any_run(test::run_qlab({"run", study(dir + "/short.txt"), "-q"}),
                                dir + "/short.txt: corpus has ");
  auto r = test::run_qlab({"run", study(dir + "/short.txt"), "-q"});
  EXPECT_NE(r.err.find("fewer than seqlen + 1 = 513"), std::string::npos) << r.err;
}

TEST_F(Preflight, MissingDataSetFile) {
  expect_stopped_before_any_run(test::run_qlab({"run", study(dir + "/absent.txt"), "-q"}), dir + "/absent.txt");
}

// A relative data_root is applied once: the preflight reads the data sets
// through its own workspace, and the run must find the same files.
TEST_F(Preflight, RelativeDataRootSurvivesThePreflight) {
  std::filesystem::create_directories(dir + "/data");
  test::write_file(dir + "/data/eval.txt", "The cat sat on the mat and looked at the dog for a long while.\n");
  std::string s = dir + "/rel.yaml";
  test::write_file(s, "output: " + dir + "/rel.h5\nmodel: {path: " + test::fixtures() + "/golden/llama2}\n"
                          "data_root: data\ndatasets: {eval: {text: {path: eval.txt}}}\n"
                          "evaluators: [{perplexity: {dataset: eval, seqlen: 8}}]\n");
  auto r = test::run_qlab({"run", s, "-q"}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto runs = read_runs(dir + "/rel.h5");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "complete") << runs[0].error;
}

TEST_F(Preflight, GoodInputRunsBoth) {
  std::string s = study(dir + "/eval.txt");
  std::string text = test::read_file(s);
  text.replace(text.find("seqlen: 512"), 11, "seqlen: 8");
  test::write_file(s, text);
  auto r = test::run_qlab({"run", s, "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_runs(dir + "/r.h5").size(), 2u);
}

}  // namespace
}  // namespace qlab
