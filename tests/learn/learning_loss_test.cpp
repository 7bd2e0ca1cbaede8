// The loss as a choice apart from the transforms, through the binary on
// stories260K (aligned) and its perturbed copy (base): each learned method
// trains on each objective and records its terms; the push term does what it
// is for (with alpha > 0 the quantized model ends farther from the base than
// with alpha = 0, and no more than a stated factor farther from the aligned
// model); and bad loss parameters, or a base that does not pair with the
// model, are refused before any run starts.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/store.h"
#include "stories.h"
#include "test_util.h"

namespace qlab {
namespace {

const std::string kGptq = "{gptq: {w_bits: 4, a_bits: 4, kv_bits: 4, dataset: stories, nsamples: 16, seqlen: 128}}";

std::string base_line() { return "base_model: {path: " + test::perturbed_stories_base() + "}\n"; }

// One run of [method {params}, gptq]; its record.
RunRecord run_one(const std::string& tag, const std::string& method, const std::string& params) {
  const std::string dir = test::temp_dir(tag);
  const std::string step = "{" + method + ": {dataset: stories, nsamples: 16, seqlen: 64, batch: 4, " + params + "}}";
  auto r = test::run_qlab({"run", test::write_study(dir, {"[" + step + ", " + kGptq + "]"}, base_line())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return read_runs(dir + "/sq.h5").at(0);
}

const std::vector<double>& array(const RunRecord& r, const std::string& name) {
  return std::get<std::vector<double>>(r.output.arrays.at(name));
}

struct Combination {
  std::string method, params;
  bool contrastive;
};

TEST(LearningLoss, EveryMethodTrainsOnEveryLossAndRecordsItsTerms) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::vector<Combination> all = {
      {"spinquant", "steps: 12, loss: kl", false},          {"spinquant", "steps: 12, loss: apc, k_pull: 64, k_push: 32", true},
      {"respinquant", "steps: 12, loss: apc, k_pull: 64, k_push: 32", true}, {"ostquant", "steps: 12, loss: cross_entropy", false},
      {"ostquant", "steps: 12, loss: kl, kl_topk: 50, lr: 0.003, scale_lr: 0.0015", false}, {"aaq", "steps: 12, k_pull: 64, k_push: 32", true},
  };
  int i = 0;
  for (const auto& c : all) {
    const RunRecord run = run_one("loss_" + std::to_string(i++), c.method, c.params);
    ASSERT_EQ(run.status, "complete") << c.method << " " << c.params << ": " << run.error;
    const auto& m = run.output.metrics;
    const std::string k = c.method + ".";
    EXPECT_EQ(array(run, k + "loss").size(), 12u) << c.params;
    if (c.contrastive) {
      EXPECT_EQ(array(run, k + "pull").size(), 12u) << c.method;
      EXPECT_EQ(array(run, k + "push").size(), 12u) << c.method;
      EXPECT_GT(array(run, k + "push").front(), 0.0);
    } else {
      EXPECT_EQ(run.output.arrays.count(k + "push"), 0u) << "no contrastive terms for " << c.params;
    }
    EXPECT_LT(m.at(k + "probe_loss_after"), m.at(k + "probe_loss_before")) << c.method << " " << c.params;
    std::cout << c.method << " {" << c.params << "}: held loss " << m.at(k + "probe_loss_before") << " -> "
              << m.at(k + "probe_loss_after") << ", ppl " << m.at("perplexity.ppl") << "\n";
  }
}

double tail_mean(const std::vector<double>& v, size_t n) {
  return std::accumulate(v.end() - int64_t(n), v.end(), 0.0) / double(n);
}

TEST(LearningLoss, PushTermMovesAwayFromTheBaseAndKeepsCloseToTheAligned) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string common = "steps: 30, k_pull: 64, k_push: 32, lr: 0.02";
  const RunRecord pull_only = run_one("push_0", "aaq", common + ", alpha: 0");
  const RunRecord contrastive = run_one("push_1", "aaq", common + ", alpha: 1");
  ASSERT_EQ(pull_only.status, "complete") << pull_only.error;
  ASSERT_EQ(contrastive.status, "complete") << contrastive.error;
  // The same batches in the same order: compare the last steps' terms.
  const double push0 = tail_mean(array(pull_only, "aaq.push"), 5), push1 = tail_mean(array(contrastive, "aaq.push"), 5);
  const double pull0 = tail_mean(array(pull_only, "aaq.pull"), 5), pull1 = tail_mean(array(contrastive, "aaq.pull"), 5);
  std::cout << "KL(base || Q) on S_diff: alpha 0 " << push0 << ", alpha 1 " << push1 << "; KL(aligned || Q) on S_top: "
            << pull0 << ", " << pull1 << "\n";
  EXPECT_GT(push1, push0);
  EXPECT_LT(pull1, 3.0 * pull0) << "the stated factor: pushing costs at most 3x the pull term";
}

TEST(LearningLoss, TeacherCacheTrainsAsTheResidentTeachersAndRefusesAnotherFile) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("teacher_cache");
  auto pipeline = [](const std::string& extra) {
    // pull_target model: both modes read bit-identical teachers. (With self the
    // resident target moves at rounding level as the transforms do, and Adam's
    // normalised step turns that into different trajectories after step 0.)
    return "[{aaq: {dataset: stories, nsamples: 16, seqlen: 64, batch: 4, steps: 8, k_pull: 64, k_push: 32, pull_target: model, " +
           extra + "}}, " + kGptq + "]";
  };
  auto r = test::run_qlab({"run", test::write_study(dir, {pipeline("teacher_cache: true"), pipeline("teacher_cache: false")}, base_line())});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<bool, RunRecord> by_mode;
  for (RunRecord& run : read_runs(dir + "/sq.h5")) {
    ASSERT_EQ(run.status, "complete") << run.error;
    by_mode[YAML::Load(run.config)["method"][0]["aaq"]["teacher_cache"].as<bool>()] = run;
  }
  ASSERT_EQ(by_mode.size(), 2u);
  const auto &cached = array(by_mode.at(true), "aaq.loss"), &resident = array(by_mode.at(false), "aaq.loss");
  ASSERT_EQ(cached.size(), resident.size());
  for (size_t i = 0; i < cached.size(); ++i) EXPECT_NEAR(cached[i], resident[i], 1e-4 * std::abs(resident[i]) + 1e-6) << "step " << i;

  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/transforms"))
    if (e.path().filename().string().rfind("teacher-", 0) == 0) files.push_back(e.path().string());
  ASSERT_EQ(files.size(), 1u);
  // The same file name holding another model's targets (its key says so).
  TensorFile f = load_tensors(files[0]);
  save_tensors(files[0], f.tensors, {{"key", "teacher-of-another-model"}});
  test::run_qlab({"run", test::write_study(dir, {pipeline("teacher_cache: true, lr: 0.02")}, base_line())});
  bool refused = false;
  for (const RunRecord& run : read_runs(dir + "/sq.h5"))
    if (run.status == "failed") {
      refused = true;
      EXPECT_NE(run.error.find(files[0] + ": teacher targets of another model"), std::string::npos) << run.error;
    }
  EXPECT_TRUE(refused);
}

struct Refusal {
  std::string params, extra, needle;
};

// The perturbed base with another tokenizer: same shapes, one piece of its
// SentencePiece model changed (what a base model from another release is).
std::string base_with_another_tokenizer() {
  const std::string dir = test::temp_dir("base_other_tok") + "/base";
  std::filesystem::copy(test::perturbed_stories_base(), dir, std::filesystem::copy_options::recursive);
  std::string bytes = test::read_file(dir + "/tokenizer.model");
  bytes[bytes.size() / 2] ^= 1;
  test::write_file(dir + "/tokenizer.model", bytes);
  return dir;
}

TEST(LearningLoss, BadLossParametersAreRefusedBeforeAnyRun) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string other_tok = base_with_another_tokenizer();
  const std::vector<Refusal> cases = {
      {"loss: apc", "", "needs `base_model:`"},
      {"loss: apc, k_pull: 100000", base_line(), "k_pull: 100000 is larger than the vocabulary"},
      {"loss: apc, k_push: 600", base_line(), "k_push: 600 is larger than the vocabulary"},
      {"loss: kl, kl_topk: 513", "", "kl_topk: 513 is larger than the vocabulary (512 tokens)"},
      {"loss: apc, alpha: -0.5", base_line(), "alpha"},
      {"loss: hinge", "", "loss"},
      {"loss: apc", "base_model: {path: " + test::fixtures() + "/golden/llama3}\n",
       "base_model " + test::fixtures() + "/golden/llama3 does not pair with model " + test::stories_model() +
           " (vocab_size 512 vs 700"},
      {"loss: apc", "base_model: {path: " + other_tok + "}\n",
       "base_model " + other_tok + " does not pair with model " + test::stories_model() + " (tokenizer.model differs"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string dir = test::temp_dir("loss_bad_" + std::to_string(i++));
    const std::string step = "{spinquant: {dataset: stories, nsamples: 8, seqlen: 64, " + c.params + "}}";
    auto r = test::run_qlab({"run", test::write_study(dir, {"[" + step + ", " + kGptq + "]"}, c.extra)});
    EXPECT_EQ(r.exit_code, kExitUsage) << c.params << ": " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.params << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/sq.h5")) << "refused before any run";
  }
}

}  // namespace
}  // namespace qlab

namespace qlab {
namespace {

// The base model offloaded layer by layer (base_model: {offload: true}) gives
// the teachers' targets, and so the whole training, of the resident one.
TEST(LearningLoss, AnOffloadedBaseTrainsAsAResidentOne) {
  QLAB_REQUIRE_SHARED_DATA();
  std::map<bool, RunRecord> by_offload;
  for (bool offload : {false, true}) {
    const std::string dir = test::temp_dir(offload ? "base_offloaded" : "base_resident");
    const std::string step = "{aaq: {dataset: stories, nsamples: 8, seqlen: 64, batch: 4, steps: 3, k_pull: 64, k_push: 32}}";
    const std::string base = "base_model: {path: " + test::perturbed_stories_base() + ", offload: " + (offload ? "true" : "false") + "}\n";
    auto r = test::run_qlab({"run", test::write_study(dir, {"[" + step + ", " + kGptq + "]"}, base)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    by_offload[offload] = read_runs(dir + "/sq.h5").at(0);
    ASSERT_EQ(by_offload[offload].status, "complete") << by_offload[offload].error;
  }
  EXPECT_EQ(array(by_offload[true], "aaq.push"), array(by_offload[false], "aaq.push"));
  EXPECT_EQ(array(by_offload[true], "aaq.loss"), array(by_offload[false], "aaq.loss"));
  EXPECT_EQ(by_offload[true].output.metrics.at("perplexity.ppl"), by_offload[false].output.metrics.at("perplexity.ppl"));
}

}  // namespace
}  // namespace qlab
