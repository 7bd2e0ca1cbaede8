// SmoothQuant: exact in full precision, and with alpha = 0.5 it leaves each
// input channel's activation range (on the calibration windows) equal to the
// range of the weight column that reads it: both become sqrt(max|X_j| max|W_j|).
// By default, as the reference: alpha from the per-family table, down_proj
// (and up_proj's rows) left alone.
#include <gtest/gtest.h>

#include "core/engine/workspace.h"
#include "core/model/generate.h"
#include "core/registry.h"
#include "core/study.h"
#include "plugins/common/calibration_data.h"
#include "plugins/smoothquant/migration.h"
#include "test_util.h"

namespace qlab {
namespace {

// Per-channel max|x| of lin's input over the windows.
torch::Tensor input_range(Model& m, Linear& lin, const torch::Tensor& windows) {
  torch::Tensor range;
  lin.input_ops.push_back(capture_op([&range](const torch::Tensor& x) {
    auto mx = x.reshape({-1, x.size(-1)}).abs().amax(0);
    range = range.defined() ? torch::maximum(range, mx) : mx;
  }));
  for (int64_t b = 0; b < windows.size(0); ++b) m.forward(windows.narrow(0, b, 1));
  lin.input_ops.pop_back();
  return range;
}

// Per-input-column max|w| over the linears that read the same input.
torch::Tensor column_range(const std::vector<const Linear*>& readers) {
  torch::Tensor range = readers[0]->weight.abs().amax(0);
  for (const Linear* r : readers) range = torch::maximum(range, r->weight.abs().amax(0));
  return range;
}

struct SmoothQuantTest : ::testing::Test {
  std::string dir = test::temp_dir("smoothquant");
  Study study;
  void SetUp() override { study = with_step("{dataset: calib, nsamples: 4, seqlen: 32, alpha: 0.5, smooth_down: true}"); }
  Study with_step(const std::string& params) {
    test::write_file(dir + "/s.yaml", "output: " + dir + "/r.h5\nmodel: {path: " + test::fixtures() +
                                          "/golden/llama2}\ndatasets: {calib: {text: {path: " + test::source_dir() +
                                          "/experiments/data/stories_eval.txt}}}\n"
                                          "method: [{smoothquant: " + params + "}]\n"
                                          "evaluators: [{perplexity: {dataset: calib}}]\n");
    return load_study(dir + "/s.yaml");
  }
};

TEST_F(SmoothQuantTest, ExactInFullPrecisionAndBalancesRanges) {
  const RunSpec& run = study.runs.at(0);
  const RunSteps steps = run.steps();
  Workspace ws(run);
  const std::vector<int64_t> ids = ws.tokenizer().encode("Once upon a time, a little fox found a shiny stone.");
  torch::NoGradGuard no_grad;
  const torch::Tensor windows = calibration_windows(ws, steps.methods[0].params);
  Model& m = ws.model();
  const Layer& l = m.layers[0];
  const torch::Tensor before = token_logprobs(m, ids);
  // Unbalanced before (otherwise the check below would say nothing).
  EXPECT_FALSE(torch::allclose(input_range(m, m.layers[0].q, windows), column_range({&l.q, &l.k, &l.v}), 0.1, 0));

  RunOutput out;
  Registry::instance().method("smoothquant").create(steps.methods[0].params)->apply(ws, out);
  EXPECT_TRUE(torch::allclose(token_logprobs(m, ids), before, 1e-4, 1e-4));
  // (gate / up are balanced too, but up's rows are then divided for down's
  // smoothing, which changes up's column ranges: q and down are the clean checks.)
  const torch::Tensor q_in = input_range(m, m.layers[0].q, windows), down_in = input_range(m, m.layers[0].down, windows);
  const torch::Tensor qkv_w = column_range({&l.q, &l.k, &l.v}), down_w = column_range({&l.down});
  EXPECT_TRUE(torch::allclose(q_in, qkv_w, 1e-3, 1e-6)) << (q_in / qkv_w).min() << " " << (q_in / qkv_w).max();
  EXPECT_TRUE(torch::allclose(down_in, down_w, 1e-3, 1e-6)) << (down_in / down_w).min() << " " << (down_in / down_w).max();
  EXPECT_EQ(ws.quant_record().back()["step"], "smoothquant");
}

TEST_F(SmoothQuantTest, DefaultsAreTheReferences) {
  Study s = with_step("{dataset: calib, nsamples: 4, seqlen: 32}");
  const RunSpec& run = s.runs.at(0);
  const RunSteps steps = run.steps();
  EXPECT_EQ(steps.methods[0].params.has("alpha"), false);
  Workspace ws(run);
  Model& m = ws.model();
  const torch::Tensor up = m.layers[0].up.weight.clone(), down = m.layers[0].down.weight.clone();
  const torch::Tensor q = m.layers[0].q.weight.clone();
  RunOutput out;
  Registry::instance().method("smoothquant").create(steps.methods[0].params)->apply(ws, out);
  EXPECT_FALSE(torch::equal(m.layers[0].q.weight, q));   // q/k/v smoothed
  // down untouched; up's columns carry the gate/up scales only (one factor per
  // column, the same for every row: its rows were not divided).
  EXPECT_TRUE(torch::equal(m.layers[0].down.weight, down));
  const torch::Tensor ratio = m.layers[0].up.weight / up;
  EXPECT_TRUE(torch::allclose(ratio, ratio[0].unsqueeze(0).expand_as(ratio), 1e-5, 1e-6));
  const auto& rec = ws.quant_record().back();
  EXPECT_DOUBLE_EQ(rec["alpha"].get<double>(), 0.85);   // a llama model below 70B
  EXPECT_EQ(rec["smooth_down"], false);
  // The reference's defaults: 512 windows of 512 tokens.
  Study d = with_step("{dataset: calib}");
  EXPECT_EQ(d.runs[0].steps().methods[0].params.get_int("nsamples"), 512);
  EXPECT_EQ(d.runs[0].steps().methods[0].params.get_int("seqlen"), 512);
}

TEST(SmoothQuantAlpha, PerFamilyTable) {
  ModelConfig c;
  c.model_type = "llama";
  c.hidden_size = 4096;   // LLaMA-2 7B, LLaMA-3 8B
  EXPECT_DOUBLE_EQ(smoothquant_alpha(c).alpha, 0.85);
  c.hidden_size = 5120;   // 13B
  EXPECT_DOUBLE_EQ(smoothquant_alpha(c).alpha, 0.85);
  c.hidden_size = 8192;   // 70B
  EXPECT_DOUBLE_EQ(smoothquant_alpha(c).alpha, 0.9);
  c.model_type = "mistral";
  c.hidden_size = 4096;
  EXPECT_DOUBLE_EQ(smoothquant_alpha(c).alpha, 0.8);
  c.model_type = "qwen2";
  EXPECT_DOUBLE_EQ(smoothquant_alpha(c).alpha, 0.5);
}

}  // namespace
}  // namespace qlab
