// `qlab slurm --submit` against a real Slurm (ctest -L slurm): the local
// single-node cluster of tools/slurm_local.sh. Skipped, loudly, when no
// controller answers. A study submitted as an array of 3 gives, merged, the
// table of a serial run; a task cancelled mid-run (scancel) and the array
// resubmitted lose and duplicate nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "core/store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

using test::test_plugins;

constexpr int kRuns = 9;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct Slurm : ::testing::Test {
  std::string dir = test::temp_dir("slurm");
  std::string results = dir + "/r.h5";
  std::string study = dir + "/s.yaml";

  void SetUp() override {
    if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
    auto sinfo = test::run_shell("timeout 20 sinfo -h -o %T");
    std::string state = trimmed(sinfo.out);
    if (sinfo.exit_code != 0 || !(state.rfind("idle", 0) == 0 || state.rfind("mix", 0) == 0 || state.rfind("alloc", 0) == 0)) {
      std::cerr << "\n*** SLURM TESTS SKIPPED: no local Slurm answers (sinfo: '" << trimmed(sinfo.out + sinfo.err)
                << "'); start one with tools/slurm_local.sh (root) ***\n\n";
      GTEST_SKIP() << "no Slurm controller answers; run tools/slurm_local.sh";
    }
    // Slurm runs tasks as this user in --chdir: the temporary folder must be
    // reachable, which on one node it is.
    std::string values;
    for (int k = 1; k <= kRuns; ++k) values += (k > 1 ? ", " : "") + std::to_string(k);
    test::write_file(study, "name: slurmtest\noutput: " + results +
                                "\nmethod:\n  - test_scale: {}\nevaluators:\n  - test_constant: {sleep_ms: 0}\n"
                                "sweep:\n  grid: {evaluators.0.test_constant.value: [" + values + "]}\n");
  }
  test::CommandResult qlab(std::vector<std::string> args) {
    args.push_back("--plugin");
    args.push_back(test_plugins());
    return test::run_qlab(args, dir);
  }
  std::string submit(const std::vector<std::string>& overrides) {
    std::vector<std::string> args = {"slurm", study};
    args.insert(args.end(), overrides.begin(), overrides.end());
    for (std::string a : {"--array-size", "3", "--submit"}) args.push_back(a);
    auto r = qlab(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = trimmed(r.out);
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << id;
    return id;
  }
  // Waits until no task of job `id` is pending or running.
  void wait_for(const std::string& id, int seconds = 180) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      auto q = test::run_shell("squeue -h -j " + id + " -o %i");
      if (q.exit_code == 0 && trimmed(q.out).empty()) return;
      if (q.err.find("Invalid job id") != std::string::npos) return;   // finished and already purged
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << "job " << id << " still queued after " << seconds << " s";
    test::run_shell("scancel " + id);
  }
  std::vector<std::string> shard_files() {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("r.shard", 0) == 0 && entry.path().extension() == ".h5") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }
  // How often each run is recorded complete over the shard files.
  std::map<std::string, int> copies() {
    std::map<std::string, int> seen;
    for (const auto& f : shard_files())
      for (const auto& r : read_runs(f)) {
        EXPECT_EQ(r.status, "complete") << r.hash << ": " << r.error;
        ++seen[r.hash];
      }
    return seen;
  }
  std::string report(const std::vector<std::string>& files) {
    std::vector<std::string> args = {"report"};
    args.insert(args.end(), files.begin(), files.end());
    for (std::string a : {"--rows", "evaluators.0.test_constant.value", "--cols", "test_constant.value"}) args.push_back(a);
    auto r = test::run_qlab(args, dir);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  std::string serial_report() {
    std::string serial = dir + "/serial/r.h5";
    auto r = qlab({"run", study, "output=" + serial, "evaluators.0.test_constant.sleep_ms=0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return report({serial});
  }
};

TEST_F(Slurm, AnArrayOfThreeGivesTheTableOfASerialRun) {
  std::string id = submit({});
  wait_for(id);
  EXPECT_FALSE(shard_files().empty()) << test::run_shell("cat '" + dir + "'/r.slurm-*.out").out;   // an empty shard writes none
  auto seen = copies();
  EXPECT_EQ(seen.size(), size_t(kRuns));
  for (auto& [hash, n] : seen) EXPECT_EQ(n, 1) << hash;
  std::string merged = report(shard_files());
  EXPECT_EQ(merged, serial_report());
  EXPECT_NE(merged.find("| 9 | 9 |"), std::string::npos) << merged;
}

TEST_F(Slurm, ACancelledTaskResumesOnResubmissionLosingAndDuplicatingNothing) {
  // Slow runs; the task of the largest shard is cancelled after its first
  // commit, with runs of its shard still to do.
  const std::string slow = "evaluators.0.test_constant.sleep_ms=1500";
  int victim = 0;
  size_t largest = 0;
  for (int task = 0; task < 3; ++task) {
    auto dry = qlab({"run", study, slow, "--dry-run", "--shard", std::to_string(task) + "/3"});
    size_t runs = std::stoul(dry.out.substr(dry.out.rfind('\n', dry.out.size() - 2) + 1));
    if (runs > largest) largest = runs, victim = task;
  }
  ASSERT_GE(largest, 2u) << "kRuns runs in 3 shards: one has at least 3";
  std::string id = submit({slow});
  std::string shard = dir + "/r.shard" + std::to_string(victim) + "of3.h5";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(shard) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(shard)) << "task " << victim << " committed nothing";
  EXPECT_EQ(test::run_shell("scancel " + id + "_" + std::to_string(victim)).exit_code, 0);
  wait_for(id);
  auto after_cancel = copies();
  EXPECT_LT(after_cancel.size(), size_t(kRuns)) << "the cancelled task had finished its shard";
  for (auto& [hash, n] : after_cancel) EXPECT_EQ(n, 1) << hash;

  std::string again = submit({slow});
  wait_for(again);
  auto seen = copies();
  EXPECT_EQ(seen.size(), size_t(kRuns));
  for (auto& [hash, n] : seen) EXPECT_EQ(n, 1) << hash;
  EXPECT_EQ(report(shard_files()), serial_report());
}

}  // namespace
}  // namespace qlab
