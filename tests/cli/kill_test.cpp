// A study killed at random instants (SIGKILL) never leaves a half-written run
// that looks complete nor a damaged file, and a rerun finishes it; Ctrl-C
// (SIGINT) stops it with exit code 130, keeping what finished.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "core/store.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

constexpr int kRuns = 8;

using test::test_plugins;

// `qlab run STUDY --plugin SO` in the background, its output appended to `log`.
pid_t start_run(const std::string& study, const std::string& log) {
  return test::start_qlab({"run", study, "--plugin", test_plugins()}, log);
}

using test::wait_exit;

struct Kill : ::testing::Test {
  std::string dir = test::temp_dir("kill");
  std::string results = dir + "/r.h5";
  std::string study = dir + "/s.yaml";
  std::string log = dir + "/out.txt";

  void SetUp() override {
    if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
  }
  // kRuns runs; run k reports value k + 1 after sleeping.
  void write_study(int sleep_ms) {
    std::string values;
    for (int k = 1; k <= kRuns; ++k) values += (k > 1 ? ", " : "") + std::to_string(k);
    test::write_file(study, "name: kill\noutput: " + results +
                                "\nmethod:\n  - test_scale: {}\nevaluators:\n  - test_constant: {sleep_ms: " +
                                std::to_string(sleep_ms) + "}\nsweep:\n  grid: {evaluators.0.test_constant.value: [" +
                                values + "]}\n");
  }
  // Every run in the file is complete and reports the value of its axis.
  size_t check_file() {
    if (!fs::exists(results)) return 0;
    std::vector<RunRecord> runs;
    EXPECT_NO_THROW(runs = read_runs(results));
    for (const auto& r : runs) {
      EXPECT_EQ(r.status, "complete") << r.hash << ": " << r.error;
      double value = std::stod(r.axes.at("evaluators.0.test_constant.value"));
      EXPECT_EQ(r.output.metrics.at("test_constant.value"), value) << r.hash;
      EXPECT_EQ(r.output.arrays.size(), 2u) << r.hash;
    }
    return runs.size();
  }
};

// The results file's inode: each commit renames a new file over it.
ino_t inode_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(Kill, SigkillAtRandomInstantsNeverLeavesAPartialRun) {
  write_study(20);
  std::mt19937 rng(20240501);
  // Start-up (loading LibTorch) takes from half a second to several on a busy
  // machine, so most kills are timed from a commit seen happening: 0-60 ms
  // later the next run is sleeping or being committed. Every third kill comes
  // at a random instant from the start, to hit start-up and store opening too.
  std::uniform_int_distribution<int> from_start_ms(0, 1500), after_commit_ms(0, 60);
  size_t before = 0;
  for (int i = 0; i < 10; ++i) {
    pid_t pid = start_run(study, log);
    bool reaped = false;   // it finished before the kill: never signal a reused pid
    if (i % 3 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(from_start_ms(rng)));
    } else {
      ino_t seen = inode_of(results);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (inode_of(results) == seen && !(reaped = waitpid(pid, nullptr, WNOHANG) == pid) &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(after_commit_ms(rng)));
    }
    if (!reaped) {
      kill(pid, SIGKILL);
      wait_exit(pid);
    }
    size_t now = check_file();
    EXPECT_GE(now, before) << "a kill lost committed runs";
    before = now;
  }
  int rc = wait_exit(start_run(study, log));
  EXPECT_EQ(rc, 0) << test::read_file(log);
  EXPECT_EQ(check_file(), size_t(kRuns));
  for (const auto& entry : fs::directory_iterator(dir))   // the last run cleaned the killed ones' leftovers
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

TEST_F(Kill, SigintStopsWithExitCode130AndKeepsFinishedRuns) {
  write_study(250);
  pid_t pid = start_run(study, log);
  // Wait for the first committed run, so the signal lands inside the runner.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(results) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(results)) << test::read_file(log);
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << test::read_file(log);
  size_t kept = check_file();
  EXPECT_GE(kept, 1u);
  EXPECT_LT(kept, size_t(kRuns));
  EXPECT_NE(test::read_file(log).find("interrupted:"), std::string::npos) << test::read_file(log);

  EXPECT_EQ(wait_exit(start_run(study, log)), 0);
  EXPECT_EQ(check_file(), size_t(kRuns));
}

}  // namespace
}  // namespace qlab
