// Changed inputs do not reuse old results: after a checkpoint's weights change
// on disk, `qlab run` runs the study again (a new run identity), and `qlab
// report` names the old run as stale and leaves it out of the table.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/fingerprint.h"
#include "core/store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

TEST(StaleResults, ChangedWeightsGiveANewRunAndTheOldOneIsStale) {
  const std::string dir = test::temp_dir("stale"), model = dir + "/model", results = dir + "/r.h5";
  fs::copy(test::fixtures() + "/golden/llama2", model);
  test::write_file(dir + "/eval.txt", "The cat sat on the mat and looked at the dog for a long while.\n");
  const std::string study = dir + "/s.yaml";
  test::write_file(study, "output: " + results + "\nmodel: {path: " + model + "}\ndatasets: {e: {text: {path: " + dir +
                              "/eval.txt}}}\nevaluators: [{perplexity: {dataset: e, seqlen: 8}}]\n");
  ASSERT_EQ(test::run_qlab({"run", study, "-q"}).exit_code, 0);
  ASSERT_EQ(read_runs(results).size(), 1u);
  const RunRecord first = read_runs(results)[0];
  // The fingerprints are stored with the run.
  std::vector<InputFile> inputs = parse_inputs_json(first.inputs);
  ASSERT_FALSE(inputs.empty());
  EXPECT_EQ(inputs.front().role + "/" + inputs.front().name, "model/config.json");
  EXPECT_EQ(inputs.back().role, "datasets.e");
  EXPECT_EQ(inputs.back().path, dir + "/eval.txt");
  EXPECT_EQ(inputs.back().sha256.size(), 64u);

  auto again = test::run_qlab({"run", study});
  EXPECT_NE(again.err.find("(0 now, 1 skipped)"), std::string::npos) << again.err;
  // One weight changes: its last byte.
  {
    std::fstream f(model + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    char c = char(f.get() ^ 0x01);
    f.seekp(-1, std::ios::end);
    f.put(c);
  }
  auto rerun = test::run_qlab({"run", study});
  EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.err.find("(1 now, 0 skipped)"), std::string::npos) << rerun.err;
  ASSERT_EQ(read_runs(results).size(), 2u);
  // Every progress line writes durations one way (core/progress.h): "ETA 0s", never "ETA 0 s".
  EXPECT_TRUE(std::regex_search(rerun.err, std::regex("perplexity e: window 4/4 \\| [0-9]+ tokens/s \\| ETA 0s\n")))
      << rerun.err;
  EXPECT_FALSE(std::regex_search(rerun.err, std::regex("ETA [0-9]+ s"))) << rerun.err;

  auto report = test::run_qlab({"report", results, "--rows", "method", "--cols", "perplexity.ppl", "--format", "csv"});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(report.err, "qlab report: " + results + ": run " + first.hash +
                            " is stale (model/model.safetensors changed since it ran); left out\n");
  EXPECT_EQ(std::count(report.out.begin(), report.out.end(), '\n'), 2) << report.out;   // header and one row
  auto kept = test::run_qlab({"report", results, "--rows", "method", "--cols", "perplexity.ppl", "--stale"});
  EXPECT_NE(kept.err.find("is stale"), std::string::npos) << kept.err;
}

// A big checkpoint file is hashed once, saying so, and then taken from the
// cache file by later processes (here a sparse 256 MB file, a dry run).
TEST(StaleResults, BigInputHashedOnceAcrossProcesses) {
  const std::string dir = test::temp_dir("stale_big"), model = dir + "/model";
  fs::create_directories(model);
  { std::ofstream(model + "/model.safetensors"); }
  fs::resize_file(model + "/model.safetensors", 256u << 20);
  test::write_file(dir + "/eval.txt", "text\n");
  const std::string study = dir + "/s.yaml";
  test::write_file(study, "output: " + dir + "/r.h5\nmodel: {path: " + model + "}\ndatasets: {e: {text: {path: " + dir +
                              "/eval.txt}}}\nevaluators: [{perplexity: {dataset: e, seqlen: 8}}]\n");
  const std::string line = "QLAB_CACHE_DIR='" + dir + "/cache' '" + test::qlab_bin() + "' run '" + study + "' --dry-run";
  auto first = test::run_shell(line);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("fingerprinting " + model + "/model.safetensors (256 MB; once, then cached by path, size and mtime)"),
            std::string::npos) << first.err;
  auto second = test::run_shell(line);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.err.find("fingerprinting"), std::string::npos) << second.err;
  EXPECT_EQ(first.out, second.out);   // the same run hash
}

}  // namespace
}  // namespace qlab
