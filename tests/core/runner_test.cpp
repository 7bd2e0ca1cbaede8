// The runner with hand-built studies and a fake run function: skipping,
// failure records, shards, dry runs, interrupts, and its progress lines.
#include "core/runner.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "core/run_lock.h"
#include "core/store.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace qlab;

namespace {

Study make_study(const std::string& output, int n) {
  Study s;
  s.name = "unit";
  s.output = output;
  for (int i = 0; i < n; ++i) {
    RunSpec r;
    r.hash = "cafe" + std::to_string(i);
    r.config_yaml = "x: " + std::to_string(i) + "\n";
    r.axes = {{"x", std::to_string(i)}};
    r.seed = 100 + i;
    s.runs.push_back(r);
  }
  return s;
}

// A run function that records which runs it saw and returns x * 10.
struct Fake {
  std::vector<std::string> calls;
  std::string fail_on;   // hash that throws
  RunOutput operator()(const RunSpec& r) {
    calls.push_back(r.hash);
    if (r.hash == fail_on) throw std::runtime_error("boom on " + r.hash + "\n  frame 0: somewhere\n  frame 1");
    RunOutput out;
    out.metrics["x10"] = 10.0 * std::stoi(r.axes.at("x"));
    return out;
  }
};

// Captures what the runner logs.
struct LogCapture {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
};

std::map<std::string, RunRecord> by_hash(const std::string& file) {
  std::map<std::string, RunRecord> m;
  for (auto& r : read_runs(file)) m[r.hash] = r;
  return m;
}

}  // namespace

TEST(Runner, RecordsFailuresSkipsCompleteRunsAndRedoesFailedOnes) {
  std::string file = test::temp_dir("runner") + "/s.h5";
  Study study = make_study(file, 4);
  Fake fake;
  fake.fail_on = "cafe2";
  RunnerOptions opt;
  opt.torch_version = "9.9.9";
  opt.device = [](const RunSpec&) { return std::string("cpu"); };
  std::ostringstream listing;
  RunnerSummary first = run_study(study, std::ref(fake), opt, listing);
  EXPECT_EQ(first.exit_code, kExitRunsFailed);
  EXPECT_EQ(first.completed, 3u);
  EXPECT_EQ(first.failed, 1u);
  EXPECT_EQ(fake.calls.size(), 4u);

  auto runs = by_hash(file);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs["cafe2"].status, "failed");
  EXPECT_EQ(runs["cafe2"].error, "boom on cafe2");   // first line only
  EXPECT_EQ(runs["cafe3"].status, "complete");
  EXPECT_EQ(runs["cafe3"].output.metrics.at("x10"), 30.0);
  EXPECT_EQ(runs["cafe3"].index, 3);
  EXPECT_EQ(runs["cafe3"].seed, 103u);
  EXPECT_EQ(runs["cafe3"].config, "x: 3\n");
  EXPECT_EQ(runs["cafe3"].torch_version, "9.9.9");
  EXPECT_EQ(runs["cafe3"].device, "cpu");
  EXPECT_EQ(runs["cafe3"].study, "unit");
  EXPECT_EQ(runs["cafe3"].qlab_version, QLAB_VERSION);
  EXPECT_TRUE(runs["cafe3"].output.timing.count("total"));
  EXPECT_EQ(runs["cafe3"].start_time.size(), 20u);   // 2024-01-02T03:04:05Z

  // Without the failure, a rerun executes only the failed run.
  Fake fixed;
  LogCapture log;
  RunnerSummary second = run_study(study, std::ref(fixed), opt, listing);
  EXPECT_EQ(second.exit_code, kExitOk);
  EXPECT_EQ(fixed.calls, std::vector<std::string>{"cafe2"});
  EXPECT_EQ(second.skipped, 3u);
  EXPECT_NE(log.text.str().find("skip cafe0 (complete)"), std::string::npos) << log.text.str();
  EXPECT_NE(log.text.str().find("run 3/4 cafe2 x=2 | "), std::string::npos) << log.text.str();
  runs = by_hash(file);
  EXPECT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs["cafe2"].status, "complete");
  EXPECT_EQ(runs["cafe2"].output.metrics.at("x10"), 20.0);
}

TEST(Runner, KeepsFailedRunsWhenAskedNotToRerunThem) {
  std::string file = test::temp_dir("runner") + "/s.h5";
  Study study = make_study(file, 2);
  Fake fake;
  fake.fail_on = "cafe0";
  std::ostringstream listing;
  run_study(study, std::ref(fake), {}, listing);
  Fake again;
  RunnerOptions opt;
  opt.rerun_failed = false;
  RunnerSummary s = run_study(study, std::ref(again), opt, listing);
  EXPECT_TRUE(again.calls.empty());
  EXPECT_EQ(s.exit_code, kExitRunsFailed);
}

// make_study's hashes are 0xcafe0 + k, and 0xcafe0 = 831456 = 3 * 277152:
// run k belongs to shard k % 3 whatever its position.
TEST(Runner, ShardsTakeRunsByHashWhateverTheirPosition) {
  std::string dir = test::temp_dir("runner");
  Study study = make_study(dir + "/s.h5", 7);
  std::reverse(study.runs.begin(), study.runs.end());   // positions change, shards must not
  std::set<std::string> seen;
  for (size_t i = 0; i < 3; ++i) {
    Fake fake;
    RunnerOptions opt;
    opt.shard_index = i;
    opt.shard_count = 3;
    std::ostringstream listing;
    EXPECT_EQ(run_study(study, std::ref(fake), opt, listing).exit_code, kExitOk);
    std::set<std::string> expected;
    for (size_t k = i; k < 7; k += 3) expected.insert("cafe" + std::to_string(k));
    EXPECT_EQ(std::set<std::string>(fake.calls.begin(), fake.calls.end()), expected) << "shard " << i;
    EXPECT_EQ(fake.calls.size(), expected.size());
    std::string shard = dir + "/s.shard" + std::to_string(i) + "of3.h5";
    for (auto& [hash, r] : by_hash(shard)) EXPECT_TRUE(seen.insert(hash).second);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_FALSE(fs::exists(dir + "/s.h5"));

  // A run added at the front goes to its own shard (7 % 3 = 1); the others stay done.
  RunSpec added = study.runs.back();
  added.hash = "cafe7";
  added.axes = {{"x", "7"}};
  study.runs.insert(study.runs.begin(), added);
  Fake fake;
  RunnerOptions opt;
  opt.shard_index = 1;
  opt.shard_count = 3;
  std::ostringstream listing;
  EXPECT_EQ(run_study(study, std::ref(fake), opt, listing).exit_code, kExitOk);
  EXPECT_EQ(fake.calls, std::vector<std::string>{"cafe7"});
}

TEST(Runner, ShardArgumentsAndFileNames) {
  EXPECT_EQ(parse_shard("0/1"), (std::pair<size_t, size_t>(0, 1)));
  EXPECT_EQ(parse_shard("3/8"), (std::pair<size_t, size_t>(3, 8)));
  for (std::string bad : {"2/2", "3/2", "0/0", "1/0", "-1/2", "a/b", "1/2x", "1", "", "1/ 2x"})
    EXPECT_THROW(parse_shard(bad), UsageError) << bad;
  EXPECT_EQ(shard_output("results/q.h5", 0, 1), "results/q.h5");
  EXPECT_EQ(shard_output("results/q.h5", 2, 4), "results/q.shard2of4.h5");
  EXPECT_EQ(shard_output("q.v2.h5", 1, 2), "q.v2.shard1of2.h5");
  EXPECT_EQ(worker_output("results/q.h5", -1), "results/q.h5");
  EXPECT_EQ(worker_output("results/q.shard2of4.h5", 3), "results/q.shard2of4.w3.h5");
  EXPECT_EQ(shard_of("ffffffffffffffff", 10), 5u);   // 18446744073709551615
  EXPECT_EQ(shard_of("0000000000000007", 4), 3u);
  EXPECT_EQ(shard_of("00000000000000ff", 1), 0u);
  EXPECT_THROW(shard_of("not-hex", 2), std::invalid_argument);
}

TEST(Runner, StudyFilesAreTheOutputAndItsShardAndWorkerFiles) {
  std::string dir = test::temp_dir("runner");
  for (std::string name : {"r.h5", "r.shard0of2.h5", "r.w1.h5", "r.shard1of2.w0.h5", "r.h5.log", "r.b.h5",
                           "r.h5.tmp-12", "r.w1.h5.tmp-3", "other.h5", "rr.w0.h5"})
    test::write_file(dir + "/" + name, "");
  EXPECT_EQ(study_files(dir + "/r.h5"), (std::vector<std::string>{dir + "/r.h5", dir + "/r.shard0of2.h5",
                                                                  dir + "/r.shard1of2.w0.h5", dir + "/r.w1.h5"}));
  EXPECT_TRUE(study_files(dir + "/none.h5").empty());
}

// Another process holds run 1: it is left for later, then taken over when
// the holder lets go without recording it (as a killed worker does).
TEST(Runner, RunsLockedElsewhereAreRetriedAndTakenOverWhenFreed) {
  std::string dir = test::temp_dir("runner");
  Study study = make_study(dir + "/s.h5", 3);
  auto held = RunLock::try_take(lock_folder(study.output), "cafe1");
  ASSERT_TRUE(held.has_value());
  EXPECT_NE(lock_holder(lock_folder(study.output), "cafe1").find("pid " + std::to_string(getpid()) + " on "),
            std::string::npos);
  EXPECT_FALSE(RunLock::try_take(lock_folder(study.output), "cafe1").has_value());
  Fake fake;
  RunnerOptions opt;
  opt.lock_poll_seconds = 0.05;
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    held.reset();
  });
  std::ostringstream listing;
  RunnerSummary s = run_study(study, std::ref(fake), opt, listing);
  releaser.join();
  EXPECT_EQ(s.exit_code, kExitOk);
  EXPECT_EQ(fake.calls, (std::vector<std::string>{"cafe0", "cafe2", "cafe1"}));
  EXPECT_EQ(by_hash(study.output).size(), 3u);
  EXPECT_TRUE(fs::is_empty(lock_folder(study.output)));   // every lock file removed on release
}

// The holder records run 1 in its own file before letting go: not redone.
TEST(Runner, RunsDecidedElsewhereDuringTheLaunchAreNotRedone) {
  std::string dir = test::temp_dir("runner");
  Study study = make_study(dir + "/s.h5", 3);
  auto held = RunLock::try_take(lock_folder(study.output), "cafe1");
  ASSERT_TRUE(held.has_value());
  Fake fake;
  RunnerOptions opt;
  opt.lock_poll_seconds = 0.05;
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    RunRecord r;
    r.hash = "cafe1";
    r.status = "failed";   // a failure decided during this launch is not retried in it either
    r.error = "elsewhere";
    r.end_time = "2099-01-01T00:00:00Z";
    Store(worker_output(study.output, 4), true).commit(r);
    held.reset();
  });
  std::ostringstream listing;
  RunnerSummary s = run_study(study, std::ref(fake), opt, listing);
  other.join();
  EXPECT_EQ(fake.calls, (std::vector<std::string>{"cafe0", "cafe2"}));
  EXPECT_EQ(s.elsewhere, 1u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.exit_code, kExitRunsFailed);
  EXPECT_EQ(by_hash(study.output).size(), 2u);
}

// A lock whose holder died (SIGKILL) is free: the kernel released it.
TEST(Runner, ALockOfAKilledHolderIsFree) {
  std::string folder = test::temp_dir("runner") + "/locks";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto lock = RunLock::try_take(folder, "abcd");
    if (!lock) _exit(3);
    raise(SIGKILL);
  }
  EXPECT_EQ(test::wait_exit(pid), 128 + SIGKILL);
  EXPECT_TRUE(fs::exists(folder + "/abcd.lock"));   // left behind, with its dead holder's pid
  EXPECT_NE(test::read_file(folder + "/abcd.lock").find("pid " + std::to_string(pid)), std::string::npos);
  EXPECT_EQ(lock_holder(folder, "abcd"), "");
  EXPECT_TRUE(RunLock::try_take(folder, "abcd").has_value());
  EXPECT_FALSE(fs::exists(folder + "/abcd.lock"));
}

TEST(Runner, DryRunListsRunsAndTheirStatusAndRunsNothing) {
  std::string file = test::temp_dir("runner") + "/sub/s.h5";
  Study study = make_study(file, 3);
  Fake fake;
  RunnerOptions opt;
  opt.dry_run = true;
  std::ostringstream listing;
  run_study(study, std::ref(fake), opt, listing);
  EXPECT_TRUE(fake.calls.empty());
  EXPECT_FALSE(fs::exists(file));
  EXPECT_NE(listing.str().find("cafe1"), std::string::npos);
  EXPECT_NE(listing.str().find("3 runs, 0 complete, 3 to run"), std::string::npos) << listing.str();

  opt.dry_run = false;
  Fake one;
  one.fail_on = "cafe1";
  run_study(study, std::ref(one), opt, listing);
  opt.dry_run = true;
  std::ostringstream after;
  run_study(study, std::ref(fake), opt, after);
  EXPECT_TRUE(fake.calls.empty());
  std::string text = after.str();
  EXPECT_NE(text.find("0      cafe0             complete  x=0"), std::string::npos) << text;
  EXPECT_NE(text.find("1      cafe1             failed    x=1"), std::string::npos) << text;
  EXPECT_NE(text.find("3 runs, 2 complete, 1 to run"), std::string::npos) << text;
}

TEST(Runner, InterruptStopsAfterTheCurrentRunWithExitCode130) {
  std::string file = test::temp_dir("runner") + "/s.h5";
  Study study = make_study(file, 5);
  std::vector<std::string> calls;
  auto interrupting = [&](const RunSpec& r) {
    calls.push_back(r.hash);
    if (r.hash == "cafe1") std::raise(SIGINT);
    EXPECT_EQ(interrupt_requested(), r.hash == "cafe1");
    RunOutput out;
    out.metrics["m"] = 1;
    return out;
  };
  std::ostringstream listing;
  RunnerSummary s = run_study(study, interrupting, {}, listing);
  EXPECT_TRUE(s.interrupted);
  EXPECT_EQ(s.exit_code, kExitInterrupted);
  EXPECT_EQ(calls, (std::vector<std::string>{"cafe0", "cafe1"}));
  auto runs = by_hash(file);
  EXPECT_EQ(runs.size(), 2u);   // the run that finished after the signal counts
  for (auto& [h, r] : runs) EXPECT_EQ(r.status, "complete");

  // A run that throws because of the interrupt is not a failure: not recorded.
  calls.clear();
  auto cooperative = [&](const RunSpec& r) -> RunOutput {
    calls.push_back(r.hash);
    std::raise(SIGTERM);
    throw std::runtime_error("stopped early");
  };
  s = run_study(study, cooperative, {}, listing);
  EXPECT_EQ(s.exit_code, kExitInterrupted);
  EXPECT_EQ(calls, std::vector<std::string>{"cafe2"});
  EXPECT_EQ(by_hash(file).size(), 2u);
}

TEST(Progress, DurationsAxesAndLines) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(-3), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(59.6), "1m00s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(3599), "59m59s");
  EXPECT_EQ(format_duration(3600), "1h00m");
  EXPECT_EQ(format_duration(2 * 3600 + 5 * 60 + 59), "2h05m");
  EXPECT_EQ(format_duration(3 * 86400 + 4 * 3600 + 1), "3d04h");
  EXPECT_EQ(format_axes({}), "");
  EXPECT_EQ(format_axes({{"w_bits", "4"}, {"method", "gptq"}}), "method=gptq w_bits=4");
  EXPECT_EQ(progress_line(3, 12, "abcd", "method=gptq", 725, 2420.0), "run 3/12 abcd method=gptq | 12m05s | ETA 40m20s");
  EXPECT_EQ(progress_line(1, 2, "abcd", "", 0, std::nullopt), "run 1/2 abcd | 0s | ETA ?");
}

TEST(Progress, EtaIsMeanDurationTimesRunsLeft) {
  Eta eta(5);
  EXPECT_FALSE(eta.seconds_left().has_value());
  eta.finished_one(10);
  eta.finished_one(20);
  // 3 runs left at a mean of (10 + 20) / 2 = 15 s.
  ASSERT_TRUE(eta.seconds_left().has_value());
  EXPECT_DOUBLE_EQ(*eta.seconds_left(), 45.0);
  eta.finished_one(30);
  eta.finished_one(40);
  eta.finished_one(50);
  EXPECT_DOUBLE_EQ(*eta.seconds_left(), 0.0);
}
