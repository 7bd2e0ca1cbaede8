// SpinQuant end to end through the binary on the real stories260K model:
// it learns (its loss on a held batch falls), it ends no worse than
// QuaRot-RTN on the same seed, one training serves a sweep over what does not
// affect it, an interrupted training (SpinQuant's, ReSpinQuant's, AAQ's)
// resumes to the same transforms, and bad
// input is refused before work starts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/runner.h"
#include "core/store.h"
#include "stories.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

using test::write_study;

const std::string kLearn = "{spinquant: {dataset: stories, nsamples: 32, seqlen: 64, batch: 4, steps: STEPS}}";
const std::string kRtn = "{rtn: {w_bits: 4, a_bits: 4, kv_bits: 4}}";
std::string gptq(int bits) {
  return "{gptq: {w_bits: " + std::to_string(bits) + ", a_bits: 4, kv_bits: 4, dataset: stories, nsamples: 16, seqlen: 128}}";
}
std::string learn(int steps) {
  std::string s = kLearn;
  return s.replace(s.find("STEPS"), 5, std::to_string(steps));
}

std::map<std::string, RunRecord> by_method(const std::string& h5) {
  std::map<std::string, RunRecord> out;
  for (RunRecord& r : read_runs(h5)) out[r.axes.count("method") ? r.axes.at("method") : r.hash] = r;
  return out;
}

TEST(SpinQuant, LearnsAndEndsNoWorseThanQuaRotRtn) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("spinquant");
  auto r = test::run_qlab({"run", write_study(dir, {"[{quarot: {}}, " + kRtn + "]", "[" + learn(100) + ", " + kRtn + "]",
                                                    "[" + learn(0) + ", " + kRtn + "]"})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<double, RunRecord> by_steps;
  for (RunRecord& run : read_runs(dir + "/sq.h5"))
    if (run.output.metrics.count("spinquant.steps_run")) by_steps[run.output.metrics.at("spinquant.steps_run")] = run;
  ASSERT_EQ(by_steps.size(), 2u);
  // Its initialisation (random Hadamards, zero steps) against 100 steps, same seed.
  EXPECT_LT(by_steps.at(100).output.metrics.at("perplexity.ppl"), by_steps.at(0).output.metrics.at("perplexity.ppl"));
  auto runs = by_method(dir + "/sq.h5");
  const RunRecord& sq = by_steps.at(100);
  ASSERT_EQ(sq.status, "complete") << sq.error;
  const auto& m = sq.output.metrics;
  EXPECT_LT(m.at("spinquant.probe_loss_after"), m.at("spinquant.probe_loss_before"));
  EXPECT_EQ(m.at("spinquant.steps_run"), 100);
  EXPECT_LT(m.at("spinquant.orthogonality_error"), 1e-6);
  EXPECT_GT(m.at("spinquant.rotation_change"), 1e-3) << "the rotation really moved";
  EXPECT_EQ(std::get<std::vector<double>>(sq.output.arrays.at("spinquant.loss")).size(), 100u);
  const double quarot = runs.at("quarot+rtn").output.metrics.at("perplexity.ppl"), spin = m.at("perplexity.ppl");
  std::cout << "stories260K W4A4KV4 ppl: QuaRot-RTN " << quarot << ", SpinQuant-RTN at its initialisation "
            << by_steps.at(0).output.metrics.at("perplexity.ppl") << ", after 100 steps " << spin << " (calibration loss "
            << m.at("spinquant.probe_loss_before") << " -> " << m.at("spinquant.probe_loss_after") << ")\n";
  EXPECT_LE(spin, quarot);
}

TEST(SpinQuant, OneTrainingServesASweepOverGptqBits) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("spinquant_cache");
  auto r = test::run_qlab({"run", write_study(dir, {"[" + learn(20) + ", " + gptq(4) + "]", "[" + learn(20) + ", " + gptq(3) + "]"})});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = read_runs(dir + "/sq.h5");
  ASSERT_EQ(runs.size(), 2u);
  std::vector<double> steps;
  std::set<std::string> keys;
  for (const auto& run : runs) {
    ASSERT_EQ(run.status, "complete") << run.error;
    steps.push_back(run.output.metrics.at("spinquant.steps_run"));
    keys.insert(std::get<std::vector<std::string>>(run.output.arrays.at("spinquant.cache_key")).at(0));
  }
  std::sort(steps.begin(), steps.end());
  EXPECT_EQ(steps, (std::vector<double>{0, 20})) << "the second run reuses the first one's training";
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(fs::exists(dir + "/transforms/" + *keys.begin() + ".safetensors"));
  EXPECT_NE(runs[0].output.metrics.at("perplexity.ppl"), runs[1].output.metrics.at("perplexity.ppl"));
}

using test::wait_exit;

pid_t start_run(const std::string& study, const std::string& log) { return test::start_qlab({"run", study}, log); }

// Every learned method trains through core/learn/train.h's checkpoint, but
// each has its own state to save (ReSpinQuant's per-layer bases, AAQ's
// teacher targets), so each is interrupted and resumed here.
class InterruptedTraining : public ::testing::TestWithParam<std::string> {};

TEST_P(InterruptedTraining, ResumesToTheSameTransforms) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string method = GetParam();
  const std::string a = test::temp_dir(method + "_whole"), b = test::temp_dir(method + "_stopped");
  const std::string extra = method == "aaq" ? "base_model: {path: " + test::perturbed_stories_base() + "}\n" : "";
  const std::vector<std::string> pipeline = {"[{" + method + ": {dataset: stories, nsamples: 32, seqlen: 64, batch: 4, steps: 20}}, " +
                                             kRtn + "]"};
  ASSERT_EQ(test::run_qlab({"run", write_study(a, pipeline, extra)}).exit_code, 0);

  const std::string study = write_study(b, pipeline, extra), log = b + "/log.txt";
  pid_t pid = start_run(study, log);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (test::read_file(log).find(method + ": step 5/20") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGINT);
  ASSERT_EQ(wait_exit(pid), kExitInterrupted) << test::read_file(log);
  std::vector<fs::path> partial;
  for (const auto& e : fs::directory_iterator(b + "/transforms"))
    if (e.path().string().find(".partial.") != std::string::npos) partial.push_back(e.path());
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_TRUE(!fs::exists(b + "/sq.h5") || read_runs(b + "/sq.h5").empty()) << "an interrupted run is not recorded";

  ASSERT_EQ(wait_exit(start_run(study, log)), 0) << test::read_file(log);
  EXPECT_NE(test::read_file(log).find("resuming at step"), std::string::npos);
  const RunRecord resumed = read_runs(b + "/sq.h5").at(0), whole = read_runs(a + "/sq.h5").at(0);
  EXPECT_GT(resumed.output.metrics.at(method + ".resumed_at"), 0);
  EXPECT_LT(resumed.output.metrics.at(method + ".steps_run"), 20);
  const std::string key = std::get<std::vector<std::string>>(whole.output.arrays.at(method + ".cache_key")).at(0);
  auto x = load_tensors(a + "/transforms/" + key + ".safetensors").tensors;
  auto y = load_tensors(b + "/transforms/" + key + ".safetensors").tensors;
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, t] : x) EXPECT_TRUE(torch::equal(t, y.at(name))) << name;
  EXPECT_EQ(resumed.output.metrics.at("perplexity.ppl"), whole.output.metrics.at("perplexity.ppl"));
}

INSTANTIATE_TEST_SUITE_P(LearnedMethods, InterruptedTraining, ::testing::Values("spinquant", "respinquant", "aaq"),
                         [](const auto& info) { return info.param; });

TEST(SpinQuant, BadInputIsRefusedBeforeWorkStarts) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("spinquant_bad");
  struct Case {
    std::string pipeline, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"[{spinquant: {dataset: stories, lr: 0}}, " + kRtn + "]", "lr"},
           {"[{spinquant: {dataset: stories, steps: -1}}, " + kRtn + "]", "steps"},
           {"[{spinquant: {dataset: stories, nsamples: 2, seqlen: 64, batch: 4}}, " + kRtn + "]", "less than one batch"},
           {"[{spinquant: {dataset: stories, nsamples: 8, seqlen: 64}}]", "must be followed by rtn or gptq"},
           {"[{spinquant: {dataset: stories, nsamples: 8, seqlen: 8192}}, " + kRtn + "]", "stories_eval.txt"},
       }) {
    auto r = test::run_qlab({"run", write_study(dir, {c.pipeline})});
    EXPECT_EQ(r.exit_code, kExitUsage) << c.pipeline << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.pipeline << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir + "/sq.h5")) << "nothing ran";
  }
}

TEST(SpinQuant, CorruptCachedRotationsFailTheRunNamingTheFile) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("spinquant_corrupt");
  const std::string study = write_study(dir, {"[" + learn(3) + ", " + kRtn + "]"});
  ASSERT_EQ(test::run_qlab({"run", study}).exit_code, 0);
  const RunRecord first = read_runs(dir + "/sq.h5").at(0);
  const std::string key = std::get<std::vector<std::string>>(first.output.arrays.at("spinquant.cache_key")).at(0);
  const std::string file = dir + "/transforms/" + key + ".safetensors";
  test::write_file(file, "{\"truncated");
  fs::remove(dir + "/sq.h5");
  auto r = test::run_qlab({"run", study});
  EXPECT_EQ(r.exit_code, kExitRunsFailed) << r.err;
  const RunRecord failed = read_runs(dir + "/sq.h5").at(0);
  EXPECT_EQ(failed.status, "failed");
  EXPECT_NE(failed.error.find(file), std::string::npos) << failed.error;
}

}  // namespace
}  // namespace qlab
