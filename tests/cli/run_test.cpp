// `qlab run` and `qlab report` through the real binary, with the fixture
// plugins' model-free evaluator `test_constant`.
#include <gtest/gtest.h>
#include <torch/version.h>   // TORCH_VERSION: macros only, no tensors

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

using test::test_plugins;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

struct RunCli : ::testing::Test {
  std::string dir = test::temp_dir("run-cli");
  std::string results = dir + "/r.h5";

  void SetUp() override {
    if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
  }
  // A sweep of test_constant's value over `values`, times `seeds`.
  std::string study(const std::string& values, const std::string& seeds = "[0]", const std::string& extra = "") {
    std::string file = dir + "/s.yaml";
    test::write_file(file, "name: cli\noutput: " + results +
                               "\nmethod:\n  - test_scale: {factor: 2}\nevaluators:\n  - test_constant: {value: 0" +
                               extra + "}\nsweep:\n  grid: {evaluators.0.test_constant.value: " + values +
                               "}\n  seeds: " + seeds + "\n");
    return file;
  }
  test::CommandResult qlab(std::vector<std::string> args) {
    if (args[0] == "run") {
      args.push_back("--plugin");
      args.push_back(test_plugins());
    }
    return test::run_qlab(args, dir);
  }
};

std::map<std::string, RunRecord> runs_of(const std::string& file) {
  std::map<std::string, RunRecord> m;
  for (auto& r : read_runs(file)) m[r.hash] = r;
  return m;
}

TEST_F(RunCli, RunsRecordsSkipsAndLogs) {
  std::string s = study("[1.5, 2.5, 4]", "[0, 1]");
  auto r = qlab({"run", s});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("run 1/6 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run 6/6 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("| ETA "), std::string::npos) << r.err;

  auto runs = runs_of(results);
  ASSERT_EQ(runs.size(), 6u);
  for (auto& [hash, run] : runs) {
    EXPECT_EQ(run.status, "complete");
    EXPECT_EQ(run.study, "cli");
    double value = std::stod(run.axes.at("evaluators.0.test_constant.value"));
    EXPECT_EQ(run.output.metrics.at("test_constant.value"), value);
    EXPECT_EQ(std::get<std::vector<double>>(run.output.arrays.at("test_constant.doubles")),
              (std::vector<double>{value, 2 * value}));
    EXPECT_EQ(std::get<std::vector<std::string>>(run.output.arrays.at("test_constant.strings")),
              (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(run.device, "cpu");
    EXPECT_FALSE(run.host.empty());
    EXPECT_FALSE(run.git_commit.empty());
    EXPECT_EQ(run.torch_version, TORCH_VERSION);
    EXPECT_NE(run.config.find("test_constant"), std::string::npos);
    EXPECT_GT(run.output.timing.at("total"), 0.0);
  }
  std::string log = test::read_file(results + ".log");
  EXPECT_NE(log.find("run 6/6 "), std::string::npos) << log;

  auto again = qlab({"run", s});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(count(again.err, "(complete)"), 6u) << again.err;
  EXPECT_EQ(count(again.err, "run 1/6"), 0u) << again.err;
  EXPECT_EQ(count(test::read_file(results + ".log"), "skip "), 6u);   // the log is appended to

  auto quiet = qlab({"run", s, "-q"});
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
}

TEST_F(RunCli, FailedRunsExitOneAndAreRunAgain) {
  std::string s = study("[1, 2]", "[0]");
  std::string file = dir + "/s.yaml";
  std::string text = test::read_file(file);
  text.replace(text.find("grid: {"), 7, "grid: {evaluators.0.test_constant.fail: [false, true], ");
  test::write_file(file, text);
  auto r = qlab({"run", s});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto runs = runs_of(results);
  ASSERT_EQ(runs.size(), 4u);
  size_t failed = 0;
  for (auto& [h, run] : runs) {
    if (run.status != "failed") continue;
    ++failed;
    EXPECT_EQ(run.error, "test_constant failed on purpose (fail: true)");
    EXPECT_TRUE(run.output.metrics.empty());
  }
  EXPECT_EQ(failed, 2u);

  auto again = qlab({"run", s});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(count(again.err, "(complete)"), 2u) << again.err;
  EXPECT_EQ(count(again.err, "failed: test_constant failed on purpose"), 2u) << again.err;
  EXPECT_EQ(runs_of(results).size(), 4u);   // redone in place, not added

  auto kept = qlab({"run", s, "--skip-failed"});
  EXPECT_EQ(kept.exit_code, 1);
  EXPECT_EQ(count(kept.err, "(failed)"), 2u) << kept.err;
}

TEST_F(RunCli, DryRunListsAndWritesNothing) {
  std::string s = study("[1, 2, 3]");
  auto dry = qlab({"run", s, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(count(dry.out, " new "), 3u) << dry.out;
  EXPECT_NE(dry.out.find("3 runs, 0 complete, 3 to run"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(results));
  EXPECT_FALSE(fs::exists(results + ".log"));

  ASSERT_EQ(qlab({"run", s, "--shard", "1/3"}).exit_code, 0);   // the middle run, in its own shard file
  ASSERT_EQ(qlab({"run", s}).exit_code, 0);
  auto after = qlab({"run", s, "--dry-run"});
  EXPECT_EQ(count(after.out, " complete "), 3u) << after.out;
  for (auto& [hash, run] : runs_of(results)) EXPECT_NE(after.out.find(hash), std::string::npos);
}

TEST_F(RunCli, ShardsReportAsOneStudy) {
  std::string s = study("[1, 2, 3, 5]", "[0, 1, 2]");
  for (std::string shard : {"0/3", "1/3", "2/3"}) ASSERT_EQ(qlab({"run", s, "--shard", shard}).exit_code, 0);
  std::vector<std::string> shards;
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(dir + "/r.shard" + std::to_string(i) + "of3.h5");
    total += runs_of(shards.back()).size();
  }
  EXPECT_EQ(total, 12u);
  EXPECT_FALSE(fs::exists(results));

  std::vector<std::string> args = {"report"};
  args.insert(args.end(), shards.begin(), shards.end());
  for (std::string a : {"--rows", "evaluators.0.test_constant.value", "--cols", "test_constant.value"}) args.push_back(a);
  auto md = qlab(args);
  ASSERT_EQ(md.exit_code, 0) << md.err;
  // Three seeds of one constant: mean = the constant, sample std 0 (whole
  // numbers in every run: printed as integers).
  EXPECT_EQ(md.out,
            "| evaluators.0.test_constant.value | test_constant.value |\n| --- | ---: |\n"
            "| 1 | 1 ± 0 |\n| 2 | 2 ± 0 |\n| 3 | 3 ± 0 |\n| 5 | 5 ± 0 |\n");

  // Runs done in any shard file count as done for the study: a serial run
  // then has nothing to do. The same study written to another file, serially,
  // gives the same table.
  auto nothing = qlab({"run", s});
  ASSERT_EQ(nothing.exit_code, 0);
  EXPECT_EQ(count(nothing.err, "(complete)"), 12u) << nothing.err;
  EXPECT_FALSE(fs::exists(results));
  std::string single_file = dir + "/single.h5";
  ASSERT_EQ(qlab({"run", s, "output=" + single_file}).exit_code, 0);
  auto single = qlab({"report", single_file, "--rows", "evaluators.0.test_constant.value", "--cols", "test_constant.value"});
  EXPECT_EQ(single.out, md.out);

  std::vector<std::string> csv_args = {"report"};
  csv_args.insert(csv_args.end(), shards.begin(), shards.end());
  for (std::string a : {"--rows", "method", "--cols", "test_constant.value", "--format", "csv", "--where",
                        "evaluators.0.test_constant.value=2.0"})
    csv_args.push_back(a);
  auto csv = qlab(csv_args);
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out, "method,runs,test_constant.value,test_constant.value.std\ntest_scale,3,2,0\n");

  auto latex = qlab({"report", single_file, "--rows", "seed", "--cols", "test_constant.value", "--format", "latex",
                     "--where", "evaluators.0.test_constant.value=5"});
  EXPECT_EQ(latex.out,
            "\\begin{tabular}{lr}\n\\toprule\nseed & test\\_constant.value \\\\\n\\midrule\n"
            "0 & $5$ \\\\\n1 & $5$ \\\\\n2 & $5$ \\\\\n\\bottomrule\n\\end{tabular}\n");
}

TEST_F(RunCli, BadResultsFilesAreUsageErrors) {
  std::string s = study("[1]");
  test::write_file(results, "this is no HDF5 file\n");
  auto run = qlab({"run", s});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err, "qlab run: " + results + ": not a qlab results file (not an HDF5 file)\n");
  auto dry = qlab({"run", s, "--dry-run"});
  EXPECT_EQ(dry.exit_code, 2);

  auto report = qlab({"report", results});
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_EQ(report.err, "qlab report: " + results + ": not a qlab results file (not an HDF5 file)\n");

  fs::remove(results);
  ASSERT_EQ(qlab({"run", s}).exit_code, 0);
  std::string bytes = test::read_file(results);
  std::string cut = dir + "/cut.h5";
  test::write_file(cut, bytes.substr(0, bytes.size() * 2 / 3));
  auto truncated = qlab({"report", cut});
  EXPECT_EQ(truncated.exit_code, 2);
  EXPECT_EQ(truncated.err.rfind("qlab report: " + cut + ": not a qlab results file (damaged: ", 0), 0u) << truncated.err;
  EXPECT_EQ(count(truncated.err, "\n"), 1u) << truncated.err;

  auto missing = qlab({"report", dir + "/none.h5"});
  EXPECT_EQ(missing.exit_code, 2);
  auto misspelt = qlab({"report", results, "--cols", "test_constant.valeu"});
  EXPECT_EQ(misspelt.exit_code, 2);
  EXPECT_NE(misspelt.err.find("test_constant.value"), std::string::npos) << misspelt.err;

  test::write_file(dir + "/blocker", "a file where a folder should be");
  std::string file = dir + "/s.yaml";
  auto unwritable = qlab({"run", file, "output=" + dir + "/blocker/r.h5"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_NE(unwritable.err.find(dir + "/blocker/r.h5"), std::string::npos) << unwritable.err;
  EXPECT_EQ(count(unwritable.err, "\n"), 1u) << unwritable.err;

  auto shard = qlab({"run", file, "--shard", "3/3"});
  EXPECT_EQ(shard.exit_code, 2);
  EXPECT_NE(shard.err.find("--shard"), std::string::npos);
}

TEST_F(RunCli, PythonReadsTheFileWithH5py) {
  if (test::run_shell("/usr/bin/python3 -c 'import h5py, pandas'").exit_code != 0)
    GTEST_SKIP() << "/usr/bin/python3 lacks h5py or pandas";
  std::string s = study("[0.25, 7]", "[3]");
  ASSERT_EQ(qlab({"run", s}).exit_code, 0);
  auto py = test::run_shell("/usr/bin/python3 '" + test::source_dir() + "/tools/read_results.py' --json '" + results + "'");
  ASSERT_EQ(py.exit_code, 0) << py.err;
  auto json = nlohmann::json::parse(py.out);
  ASSERT_EQ(json.size(), 2u);
  for (auto& [hash, run] : json.items()) {
    double value = std::stod(run["axes"]["evaluators.0.test_constant.value"].get<std::string>());
    EXPECT_EQ(run["status"], "complete");
    EXPECT_EQ(run["seed"], 3);
    EXPECT_EQ(run["metrics"]["test_constant.value"].get<double>(), value);
    EXPECT_EQ(run["arrays"]["test_constant.doubles"], nlohmann::json({value, 2 * value}));
    EXPECT_EQ(run["arrays"]["test_constant.strings"], nlohmann::json({"first", "second"}));
  }
  auto table = test::run_shell("/usr/bin/python3 '" + test::source_dir() + "/tools/read_results.py' '" + results + "'");
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("test_constant.value"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace qlab
