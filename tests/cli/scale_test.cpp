// Scale-out from the command line: worker processes (--workers), a worker
// killed with SIGKILL, `qlab status`, the sbatch script `qlab slurm` writes
// (run here task by task without Slurm), and the bad input of each.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/run_lock.h"
#include "core/store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

using test::test_plugins;

constexpr int kRuns = 8;
const std::vector<std::string> kTable = {"--rows", "evaluators.0.test_constant.value", "--cols", "test_constant.value"};

struct Scale : ::testing::Test {
  std::string dir = test::temp_dir("scale");
  std::string results = dir + "/r.h5";
  std::string study = dir + "/s.yaml";

  void SetUp() override {
    if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
  }
  // kRuns runs (values 1..kRuns), each sleeping `sleep_ms`.
  void write_study(int sleep_ms) {
    std::string values;
    for (int k = 1; k <= kRuns; ++k) values += (k > 1 ? ", " : "") + std::to_string(k);
    test::write_file(study, "name: scale\noutput: " + results +
                                "\nmethod:\n  - test_scale: {}\nevaluators:\n  - test_constant: {sleep_ms: " +
                                std::to_string(sleep_ms) + "}\nsweep:\n  grid: {evaluators.0.test_constant.value: [" +
                                values + "]}\n");
  }
  test::CommandResult qlab(std::vector<std::string> args) {
    if (args[0] == "run" || args[0] == "status" || args[0] == "slurm") {
      args.push_back("--plugin");
      args.push_back(test_plugins());
    }
    return test::run_qlab(args, dir);
  }
  // Every file of the study: how often each run appears, all complete and right.
  std::map<std::string, int> copies() {
    std::map<std::string, int> seen;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("r.", 0) != 0 || entry.path().extension() != ".h5") continue;
      for (const auto& r : read_runs(entry.path().string())) {
        EXPECT_EQ(r.status, "complete") << name << " " << r.hash << ": " << r.error;
        EXPECT_EQ(r.output.metrics.at("test_constant.value"), std::stod(r.axes.at("evaluators.0.test_constant.value")));
        ++seen[r.hash];
      }
    }
    return seen;
  }
  std::vector<std::string> files_matching(const std::string& prefix) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".h5") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }
  std::string report(const std::vector<std::string>& files) {
    std::vector<std::string> args = {"report"};
    args.insert(args.end(), files.begin(), files.end());
    args.insert(args.end(), kTable.begin(), kTable.end());
    auto r = qlab(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // The table of the same study run serially into its own file (without the sleeps).
  std::string serial_report() {
    std::string serial = dir + "/serial/r.h5";
    auto r = qlab({"run", study, "output=" + serial, "evaluators.0.test_constant.sleep_ms=0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return report({serial});
  }
};

// The expected table, written out: value k reports k (test_constant; whole numbers print as integers).
std::string expected_table() {
  std::string t = "| evaluators.0.test_constant.value | test_constant.value |\n| --- | ---: |\n";
  for (int k = 1; k <= kRuns; ++k) t += "| " + std::to_string(k) + " | " + std::to_string(k) + " |\n";
  return t;
}

TEST_F(Scale, WorkersShareTheRunsAndTheMergedReportEqualsASerialRun) {
  write_study(400);   // long enough for every worker to start before the runs run out
  auto r = qlab({"run", study, "--workers", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> workers = files_matching("r.w");
  EXPECT_GE(workers.size(), 2u) << "one worker did everything";
  auto seen = copies();
  EXPECT_EQ(seen.size(), size_t(kRuns));
  for (auto& [hash, n] : seen) EXPECT_EQ(n, 1) << hash << " ran " << n << " times";
  EXPECT_FALSE(fs::exists(results));
  EXPECT_EQ(report(workers), expected_table());
  EXPECT_EQ(serial_report(), expected_table());
  EXPECT_TRUE(fs::is_empty(dir + "/r.h5.locks"));
  auto again = qlab({"run", study, "--workers", "2"});   // nothing left: every worker skips everything
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(files_matching("r.w"), workers);
}

// The pid of a worker that holds a run's lock (read from the lock file), or 0 on timeout.
pid_t running_worker(const std::string& locks, pid_t launcher) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(locks, ec)) {
      int pid = 0;
      if (std::sscanf(test::read_file(entry.path().string()).c_str(), "pid %d", &pid) == 1 && pid != launcher && pid > 0)
        return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

TEST_F(Scale, AWorkerKilledWithSigkillLosesOnlyItsRunWhichIsRedone) {
  write_study(400);
  std::string log = dir + "/out.txt";
  pid_t launcher = test::start_qlab({"run", study, "--workers", "2", "--plugin", test_plugins()}, log);
  pid_t victim = running_worker(results + ".locks", launcher);
  ASSERT_GT(victim, 0) << test::read_file(log);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));   // inside its run's sleep
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  int rc = test::wait_exit(launcher);
  EXPECT_EQ(rc, 1) << test::read_file(log);   // a worker died: not a clean launch
  EXPECT_NE(test::read_file(log).find("killed by signal 9"), std::string::npos) << test::read_file(log);
  for (auto& [hash, n] : copies()) EXPECT_EQ(n, 1) << hash;   // nothing duplicated

  auto next = qlab({"run", study});   // the next launch redoes whatever the kill left
  EXPECT_EQ(next.exit_code, 0) << next.err;
  auto seen = copies();
  EXPECT_EQ(seen.size(), size_t(kRuns));
  for (auto& [hash, n] : seen) EXPECT_EQ(n, 1) << hash;
  EXPECT_EQ(report(files_matching("r.")), expected_table());
  EXPECT_EQ(serial_report(), expected_table());
}

TEST_F(Scale, StatusShowsDoneFailedRunningAndMissingRunsInEveryFormat) {
  write_study(0);
  auto dry = qlab({"run", study, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  std::vector<std::string> hashes;   // in study order, from the listing
  for (size_t at = dry.out.find('\n') + 1; hashes.size() < size_t(kRuns) && at < dry.out.size();
       at = dry.out.find('\n', at) + 1)
    hashes.push_back(dry.out.substr(at + 7, 16));   // "%-6zu " then the hash
  ASSERT_EQ(hashes.size(), size_t(kRuns)) << dry.out;

  // Shard 0 of the study runs; shard 1 runs only in a failing variant of it
  // (other hashes, the same files).
  ASSERT_EQ(qlab({"run", study, "--shard", "0/2"}).exit_code, 0);
  auto failing = qlab({"run", study, "--shard", "1/2", "evaluators.0.test_constant.fail=true"});
  EXPECT_EQ(failing.exit_code, 1);
  auto runs_shard0 = read_runs(dir + "/r.shard0of2.h5");
  size_t done = runs_shard0.size();
  ASSERT_GT(done, 0u);
  ASSERT_LT(done, size_t(kRuns));

  // One missing run is held by a live process: running.
  std::string held_hash;
  for (const auto& h : hashes) {
    bool in0 = false;
    for (const auto& r : runs_shard0) in0 |= r.hash == h;
    if (!in0) held_hash = h;
  }
  auto held = RunLock::try_take(results + ".locks", held_hash);
  ASSERT_TRUE(held.has_value());

  auto md = qlab({"status", study});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  std::string counts = std::to_string(kRuns) + " runs: " + std::to_string(done) + " done, 0 failed, 1 running, " +
                       std::to_string(kRuns - done - 1) + " missing; compute time ";
  EXPECT_NE(md.out.find(counts), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| " + held_hash + " | running | 0.0 | "), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("pid " + std::to_string(getpid())), std::string::npos) << md.out;

  auto json = qlab({"status", study, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["counts"]["done"], done);
  EXPECT_EQ(j["counts"]["running"], 1);
  double total = 0;
  for (const auto& r : runs_shard0) total += r.output.timing.at("total");
  EXPECT_NEAR(j["compute_seconds"].get<double>(), total, 1e-9);

  // The failing variant's own status: its runs of shard 1 failed, with the error.
  auto failed = qlab({"status", study, "evaluators.0.test_constant.fail=true", "--format", "csv"});
  ASSERT_EQ(failed.exit_code, 0) << failed.err;
  EXPECT_NE(failed.out.find(",failed,"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find(",test_constant failed on purpose (fail: true)\n"), std::string::npos) << failed.out;

  auto bad = qlab({"status", study, "--format", "xml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "qlab status: --format: expected md, csv or json, got 'xml'\n");
}

// The script `qlab slurm` writes, run task by task with bash (Slurm would set
// SLURM_ARRAY_TASK_ID): the merged shards equal a serial run.
TEST_F(Scale, SlurmScriptRunsOneShardPerTask) {
  write_study(0);
  auto r = qlab({"slurm", study, "method.0.test_scale.factor=1", "--array-size", "3", "--partition", "gpu",
            "--gpus-per-task", "1", "--cpus-per-task", "4", "--mem", "16G", "--time", "01:00:00", "--account", "lab",
            "--extra-sbatch", "--qos=high", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string script_file = dir + "/r.sbatch";
  std::string script = test::read_file(script_file);
  EXPECT_EQ(r.out, script);
  for (const std::string& line : std::vector<std::string>{"#SBATCH --array=0-2\n", "#SBATCH --partition=gpu\n", "#SBATCH --gpus-per-task=1\n",
                           "#SBATCH --cpus-per-task=4\n", "#SBATCH --mem=16G\n", "#SBATCH --time=01:00:00\n",
                           "#SBATCH --account=lab\n", "#SBATCH --qos=high\n", "#SBATCH --chdir=" + dir + "\n",
                           "#SBATCH --output=" + dir + "/r.slurm-%A_%a.out\n",
                           " 'method.0.test_scale.factor=1' --plugin '" + test_plugins() +
                               "' --shard \"${SLURM_ARRAY_TASK_ID}/3\"\n"})
    EXPECT_NE(script.find(line), std::string::npos) << line << "\n" << script;
  for (int task = 0; task < 3; ++task) {
    auto t = test::run_shell("cd /tmp && SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " bash '" + script_file + "'");
    EXPECT_EQ(t.exit_code, 0) << t.err;
  }
  // Task i wrote the runs whose hash, as a number, is i mod 3 (a shard may be
  // empty: then it writes no file).
  std::vector<std::string> shards = files_matching("r.shard");
  EXPECT_FALSE(shards.empty());
  for (int task = 0; task < 3; ++task) {
    std::string file = dir + "/r.shard" + std::to_string(task) + "of3.h5";
    if (!fs::exists(file)) continue;
    for (const auto& run : read_runs(file)) EXPECT_EQ(std::stoull(run.hash, nullptr, 16) % 3, unsigned(task)) << run.hash;
  }
  auto seen = copies();
  EXPECT_EQ(seen.size(), size_t(kRuns));
  for (auto& [hash, n] : seen) EXPECT_EQ(n, 1) << hash;
  EXPECT_EQ(report(shards), expected_table());
}

// One line each, exit 2, nothing run, written or submitted.
TEST_F(Scale, BadScaleOutInputIsAOneLineUsageError) {
  write_study(0);
  auto one_line_2 = [&](const std::vector<std::string>& args, const std::string& expected) {
    auto r = qlab(args);
    EXPECT_EQ(r.exit_code, 2) << args[2] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  };
  for (std::string shard : {"3/2", "0/0", "a/b"})
    one_line_2({"run", study, "--shard", shard}, "--shard: expected i/n with 0 <= i < n, got '" + shard + "'");
  one_line_2({"run", study, "--workers", "0"}, "--workers: expected a number of workers >= 1, got 0");
  one_line_2({"run", study, "--workers", "2", "--gpus", "0"}, "--workers and --gpus exclude each other");
  one_line_2({"run", study, "--gpus", "7"}, "--gpus");   // no GPU here, or no GPU 7
  one_line_2({"run", study, "--gpus", "0,x"}, "--gpus");
  one_line_2({"slurm", study, "--array-size", "0"}, "--array-size: expected a number of tasks >= 1");
  one_line_2({"slurm", study, "--dry-run", "--submit"}, "--dry-run and --submit exclude each other");
  EXPECT_TRUE(files_matching("r").empty());

  auto submit_with = [&](const std::string& env) {
    return test::run_shell("cd '" + dir + "' && " + env + " '" + test::qlab_bin() + "' slurm '" + study +
                           "' --plugin '" + test_plugins() + "' --array-size 2 --submit");
  };
  auto no_sbatch = submit_with("PATH='" + dir + "/empty'");
  EXPECT_EQ(no_sbatch.exit_code, 2);
  EXPECT_EQ(no_sbatch.err,
            "qlab slurm: --submit: sbatch not found in PATH (is Slurm's client installed?); nothing submitted\n");

  if (test::run_shell("command -v sbatch && command -v scontrol").exit_code != 0) {
    std::cerr << "[ SKIPPED ] the dead-controller case: sbatch/scontrol not installed (tools/slurm_local.sh)\n";
    return;
  }
  // A configuration naming a controller on a port nobody listens on.
  std::string conf = dir + "/dead-slurm.conf";
  test::write_file(conf,
                   "ClusterName=dead\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=9\nAuthType=auth/munge\n"
                   "NodeName=localhost CPUs=1 State=UNKNOWN\nPartitionName=p Nodes=ALL Default=YES\n");
  auto dead = submit_with("SLURM_CONF='" + conf + "'");
  EXPECT_EQ(dead.exit_code, 2) << dead.out;
  EXPECT_EQ(dead.err.rfind("qlab slurm: --submit: the Slurm controller does not answer (scontrol ping: ", 0), 0u)
      << dead.err;
  EXPECT_NE(dead.err.find("); nothing submitted\n"), std::string::npos) << dead.err;
  EXPECT_EQ(std::count(dead.err.begin(), dead.err.end(), '\n'), 1) << dead.err;
}

}  // namespace
}  // namespace qlab
