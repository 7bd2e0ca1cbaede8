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

// Windows that would repeat the corpus (and, with a huge nsamples, fail late allocating).
TEST_F(Preflight, MoreWindowTokensThanTheCorpus) {
  std::string s = study(dir + "/eval.txt");
  std::string text = test::read_file(s);
  text.replace(text.find("nsamples: 4, seqlen: 512"), 24, "nsamples: 1000, seqlen: 4");
  test::write_file(s, text);
  expect_stopped_before_any_run(test::run_qlab({"run", s, "-q"}), dir + "/eval.txt: nsamples x seqlen = 1000 x 4 = 4000 tokens, more than the corpus's ");
}

// Text that is not UTF-8: the file and the byte offset of the first bad byte.
TEST_F(Preflight, DataSetNotUtf8) {
  test::write_file(dir + "/latin1.txt", "caf\xe9 au lait\n");
  expect_stopped_before_any_run(test::run_qlab({"run", study(dir + "/latin1.txt"), "-q"}),
                                dir + "/latin1.txt: not valid UTF-8 at byte offset 3");
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

// A perplexity window longer than the model's context (the fixture's
// max_position_embeddings is 256) is refused before any run, naming the key;
// allow_past_context: true is the explicit way to evaluate it anyway.
TEST_F(Preflight, WindowPastTheContext) {
  std::string s = study(dir + "/eval.txt");
  std::string text = test::read_file(s);
  text.replace(text.find("seqlen: 8"), 9, "seqlen: 257");
  test::write_file(s, text);
  auto refused = test::run_qlab({"run", s, "-q"});
  expect_stopped_before_any_run(refused, "evaluator 'perplexity': 'seqlen' 257 is past the model's context of "
                                         "256 tokens (max_position_embeddings in " + test::fixtures() +
                                             "/golden/llama2/config.json); set allow_past_context: true to evaluate anyway");
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "The cat sat on the mat and looked at the dog for a long while.\n";
  test::write_file(dir + "/long.txt", long_text);
  auto allowed = test::run_qlab({"run", s, "-q", "evaluators.0.perplexity.allow_past_context=true",
                                 "datasets.eval.text.path=" + dir + "/long.txt", "sweep.grid.method=[[]]"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  ASSERT_EQ(read_runs(dir + "/r.h5").size(), 1u);
  EXPECT_EQ(read_runs(dir + "/r.h5")[0].output.metrics.at("perplexity.seqlen"), 257);
  auto at_the_limit = test::run_qlab({"run", s, "-q", "evaluators.0.perplexity.seqlen=256",
                                      "datasets.eval.text.path=" + dir + "/long.txt", "sweep.grid.method=[[]]"});
  EXPECT_EQ(at_the_limit.exit_code, 0) << at_the_limit.err;
  EXPECT_EQ(read_runs(dir + "/r.h5").size(), 2u);
}

// Generation: the longest prompt plus max_new_tokens must fit as well.
TEST_F(Preflight, GenerationPastTheContext) {
  test::write_file(dir + "/p.jsonl", "{\"prompt\": \"Tell me a story.\"}\n");
  const std::string s = dir + "/g.yaml";
  test::write_file(s, "output: " + dir + "/r.h5\nmodel: {path: " + test::fixtures() + "/golden/llama2}\n" +
                          "datasets: {p: {jsonl_prompts: {path: " + dir + "/p.jsonl}}}\n"
                          "evaluators: [{refusal: {dataset: p, max_new_tokens: 250}}]\n");
  expect_stopped_before_any_run(test::run_qlab({"run", s, "-q"}),
                                "evaluator 'refusal': the longest prompt of 'p' (");
  auto r = test::run_qlab({"run", s, "-q"});
  EXPECT_NE(r.err.find(" tokens) plus max_new_tokens 250 is past the model's context of 256 tokens"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace qlab
