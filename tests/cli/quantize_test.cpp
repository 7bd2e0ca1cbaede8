// `qlab quantize` writes a checkpoint that qlab loads back as the quantized
// model it saved: `qlab score` on the output equals the same pipeline applied
// in memory, and only with the saved online quantizers attached.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/engine/execute.h"
#include "core/engine/workspace.h"
#include "core/model/generate.h"
#include "core/model/tokenizer.h"
#include "core/registry.h"
#include "core/study.h"
#include "test_util.h"

namespace qlab {
namespace {

const char* kText = "Die Katze schläft auf dem Sofa, while the dog waits by the door.";

// The pipeline `methods` (YAML list items) applied in memory, as a run would.
double in_memory_logprob(const std::string& model_dir, const std::string& dir, const std::string& methods,
                         const std::string& extra = "") {
  StudyRules methods_only;
  methods_only.needs_evaluators = false;
  Study s = load_study_text("model: {path: " + model_dir + "}\noutput: " + dir + "/r.h5\n" + extra + "method:\n" + methods,
                            "test", {}, methods_only);
  Workspace ws(s.runs.at(0));
  RunOutput out;
  apply_methods(ws, out);
  torch::NoGradGuard no_grad;
  return token_logprobs(ws.model(), Tokenizer::load(model_dir)->encode(kText)).sum().item<double>();
}

double scored(const std::string& dir) {
  auto r = test::run_qlab({"score", dir, "--text", kText, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["logprob_sum"].get<double>();
}

TEST(QuantizeCli, SavedCheckpointScoresAsTheInMemoryPipeline) {
  const std::string model = test::fixtures() + "/golden/llama2";
  const std::string dir = test::temp_dir("quantize"), out = dir + "/q";
  auto r = test::run_qlab({"quantize", model, "--method", "quarot,rtn", "--set", "rtn.w_bits=4", "--set", "rtn.a_bits=4",
                           "--set", "rtn.a_sym=true", "--set", "rtn.kv_bits=4", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The same log format as `qlab run` ("[12:34:56] info: ..."), on stderr.
  EXPECT_TRUE(std::regex_search(r.err, std::regex("(^|\n)\\[[0-9:]{8}\\] info: wrote " + out + " \\(quarot,rtn; [0-9]+ steps recorded in qlab_quant.json\\)\n")))
      << r.err;
  // `qlab inspect` lists the online ops the checkpoint brings; a plain one has none.
  auto inspected = test::run_qlab({"inspect", out});
  EXPECT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_NE(inspected.out.find("online ops    fake_quant int4 on layers.*."), std::string::npos) << inspected.out;
  EXPECT_NE(inspected.out.find("online ops    hadamard"), std::string::npos) << inspected.out;
  EXPECT_NE(test::run_qlab({"inspect", model}).out.find("online ops    none\n"), std::string::npos);
  const nlohmann::json description = nlohmann::json::parse(test::read_file(out + "/qlab_quant.json"));
  EXPECT_NE(description.dump().find("\"bits\":4"), std::string::npos) << description.dump();

  const double expected =
      in_memory_logprob(model, dir, "  - quarot\n  - rtn: {w_bits: 4, a_bits: 4, a_sym: true, kv_bits: 4}\n");
  const double got = scored(out);
  EXPECT_NEAR(got, expected, 1e-4 * std::abs(expected));
  // The same weights without the online Hadamards and quantizers compute
  // something else: the description file is what makes the reload exact.
  std::filesystem::remove(out + "/qlab_quant.json");
  EXPECT_GT(std::abs(scored(out) - expected), 1e-3);
  // And the unquantized model differs from both.
  EXPECT_GT(std::abs(scored(model) - expected), 1e-3);
}

TEST(QuantizeCli, LearnedRotationsReloadAndScoreAsInMemory) {
  // SpinQuant's learned R1/R2 are baked into the weights; its online R3/R4
  // and the quantizers come back from the saved op records.
  const std::string model = test::fixtures() + "/golden/llama2";
  const std::string dir = test::temp_dir("quantize_learned"), out = dir + "/q", text = dir + "/calib.txt";
  std::string calib;
  for (int i = 0; i < 40; ++i) calib += std::string(kText) + " " + std::to_string(i) + "\n";
  test::write_file(text, calib);
  auto r = test::run_qlab({"quantize", model, "--method", "spinquant,rtn", "--calibration", text, "--set",
                           "spinquant.nsamples=8", "--set", "spinquant.seqlen=32", "--set", "spinquant.batch=2", "--set",
                           "spinquant.steps=5", "--set", "rtn.a_bits=4", "--set", "rtn.kv_bits=4", "--out", out},
                          dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double expected = in_memory_logprob(
      model, dir,
      "  - spinquant: {dataset: calibration, nsamples: 8, seqlen: 32, batch: 2, steps: 5}\n"
      "  - rtn: {a_bits: 4, kv_bits: 4}\n",
      "datasets:\n  calibration: {text: {path: " + text + "}}\n");
  const double got = scored(out);
  EXPECT_NEAR(got, expected, 1e-4 * std::abs(expected));
  EXPECT_GT(std::abs(scored(model) - expected), 1e-3);
  const std::string description = test::read_file(out + "/qlab_quant.json");
  EXPECT_NE(description.find("\"site\": \"layers.0.down.in\""), std::string::npos) << description;
}

TEST(QuantizeCli, LayerwiseRotationsReloadWithTheirTransitions) {
  // ReSpinQuant's per-layer bases are baked; what cannot be baked, the skip
  // path's rank-r transitions, is saved as lowrank_residual records at the
  // residual hooks. Every loader path (score: Model::load; a study: the
  // workspace; --offload: layer by layer) rebuilds them.
  const std::string model = test::fixtures() + "/golden/llama2";
  const std::string dir = test::temp_dir("quantize_layerwise"), out = dir + "/q", text = dir + "/calib.txt";
  std::string calib;
  for (int i = 0; i < 40; ++i) calib += std::string(kText) + " " + std::to_string(i) + "\n";
  test::write_file(text, calib);
  auto r = test::run_qlab({"quantize", model, "--method", "respinquant,rtn", "--calibration", text, "--set",
                           "respinquant.nsamples=8", "--set", "respinquant.seqlen=32", "--set", "respinquant.batch=2",
                           "--set", "respinquant.steps=5", "--set", "respinquant.rank=8", "--set", "rtn.a_bits=4",
                           "--set", "rtn.kv_bits=4", "--out", out},
                          dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string description = test::read_file(out + "/qlab_quant.json");
  EXPECT_NE(description.find("\"site\": \"layers.1.mlp_skip\""), std::string::npos) << description;
  EXPECT_NE(description.find("\"lowrank_residual\""), std::string::npos) << description;
  const double expected = in_memory_logprob(
      model, dir,
      "  - respinquant: {dataset: calibration, nsamples: 8, seqlen: 32, batch: 2, steps: 5, rank: 8}\n"
      "  - rtn: {a_bits: 4, kv_bits: 4}\n",
      "datasets:\n  calibration: {text: {path: " + text + "}}\n");
  EXPECT_NEAR(scored(out), expected, 1e-4 * std::abs(expected));
  // Through a study's workspace, on the offloaded path too.
  StudyRules no_evaluators;
  no_evaluators.needs_evaluators = false;
  for (const char* offload : {"false", "true"}) {
    Study s = load_study_text(std::string("model: {path: ") + out + ", offload: " + offload + "}\noutput: " + dir +
                                  "/reload.h5\nmethod: []\n",
                              "test", {}, no_evaluators);
    Workspace ws(s.runs.at(0));
    torch::NoGradGuard no_grad;
    const double got = token_logprobs(ws.model(), Tokenizer::load(out)->encode(kText)).sum().item<double>();
    EXPECT_NEAR(got, expected, 1e-4 * std::abs(expected)) << "offload " << offload;
  }
  // Without the saved transitions the baked weights compute something else.
  std::filesystem::remove(out + "/qlab_quant.json");
  EXPECT_GT(std::abs(scored(out) - expected), 1e-3);
}

TEST(QuantizeCli, BadArgumentsAreUsageErrors) {
  const std::string model = test::fixtures() + "/golden/llama2";
  const std::string out = test::temp_dir("quantize") + "/q";
  auto unknown = test::run_qlab({"quantize", model, "--method", "quarot,rnt", "--out", out});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("rtn"), std::string::npos) << unknown.err;   // did you mean
  auto bad_set = test::run_qlab({"quantize", model, "--method", "rtn", "--set", "rtn.w_bits=1", "--out", out});
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.err.find("w_bits"), std::string::npos) << bad_set.err;
  EXPECT_EQ(test::run_qlab({"quantize", model, "--out", out}).exit_code, 2);   // no --method
}

// GPTQ without --calibration: the option is named, no file of qlab's own is,
// and nothing is written.
TEST(QuantizeCli, MissingCalibrationNamesTheOption) {
  const std::string out = test::temp_dir("quantize") + "/q";
  auto r = test::run_qlab({"quantize", test::fixtures() + "/golden/llama2", "--method", "quarot,gptq", "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab quantize: --method gptq calibrates on text: give --calibration FILE (qlab quantize --help)\n");
  EXPECT_FALSE(std::filesystem::exists(out));
}

// An existing checkpoint is replaced only with --force; the input model never.
TEST(QuantizeCli, ExistingOutputNeedsForce) {
  const std::string model = test::fixtures() + "/golden/llama2";
  const std::string out = test::temp_dir("quantize") + "/q";
  test::write_file(out + "/config.json", "{}");
  auto refused = test::run_qlab({"quantize", model, "--method", "rtn", "--out", out});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(refused.err, "qlab quantize: --out " + out + " already exists; add --force to replace what it holds\n");
  EXPECT_EQ(test::read_file(out + "/config.json"), "{}");
  auto forced = test::run_qlab({"quantize", model, "--method", "rtn", "--out", out, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(test::read_file(out + "/config.json"), "{}");
  auto self = test::run_qlab({"quantize", model, "--method", "rtn", "--out", model, "--force"});
  EXPECT_EQ(self.exit_code, 2);
  EXPECT_NE(self.err.find("is the input model's folder"), std::string::npos) << self.err;
}

}  // namespace
}  // namespace qlab
