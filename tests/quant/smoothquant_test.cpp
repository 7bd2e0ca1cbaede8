// SmoothQuant: exact in full precision, and with alpha = 0.5 it leaves each
// input channel's activation range (on the calibration windows) equal to the
// range of the weight column that reads it: both become sqrt(max|X_j| max|W_j|).
#include <gtest/gtest.h>

#include "core/engine/workspace.h"
#include "core/model/generate.h"
#include "core/registry.h"
#include "core/study.h"
#include "plugins/common/calibration_data.h"
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
  void SetUp() override {
    test::write_file(dir + "/s.yaml", "output: " + dir + "/r.h5\nmodel: {path: " + test::fixtures() +
                                          "/golden/llama2}\ndatasets: {calib: {text: {path: " + test::source_dir() +
                                          "/experiments/data/stories_eval.txt}}}\n"
                                          "method: [{smoothquant: {dataset: calib, nsamples: 4, seqlen: 32, alpha: 0.5}}]\n"
                                          "evaluators: [{perplexity: {dataset: calib}}]\n");
    study = load_study(dir + "/s.yaml");
  }
};

TEST_F(SmoothQuantTest, ExactInFullPrecisionAndBalancesRanges) {
  const RunSpec& run = study.runs.at(0);
  Workspace ws(run);
  const std::vector<int64_t> ids = ws.tokenizer().encode("Once upon a time, a little fox found a shiny stone.");
  torch::NoGradGuard no_grad;
  const torch::Tensor windows = calibration_windows(ws, run.methods[0].params);
  Model& m = ws.model();
  const Layer& l = m.layers[0];
  const torch::Tensor before = token_logprobs(m, ids);
  // Unbalanced before (otherwise the check below would say nothing).
  EXPECT_FALSE(torch::allclose(input_range(m, m.layers[0].q, windows), column_range({&l.q, &l.k, &l.v}), 0.1, 0));

  RunOutput out;
  Registry::instance().method("smoothquant").create(run.methods[0].params)->apply(ws, out);
  EXPECT_TRUE(torch::allclose(token_logprobs(m, ids), before, 1e-4, 1e-4));
  // (gate / up are balanced too, but up's rows are then divided for down's
  // smoothing, which changes up's column ranges: q and down are the clean checks.)
  const torch::Tensor q_in = input_range(m, m.layers[0].q, windows), down_in = input_range(m, m.layers[0].down, windows);
  const torch::Tensor qkv_w = column_range({&l.q, &l.k, &l.v}), down_w = column_range({&l.down});
  EXPECT_TRUE(torch::allclose(q_in, qkv_w, 1e-3, 1e-6)) << (q_in / qkv_w).min() << " " << (q_in / qkv_w).max();
  EXPECT_TRUE(torch::allclose(down_in, down_w, 1e-3, 1e-6)) << (down_in / down_w).min() << " " << (down_in / down_w).max();
  EXPECT_EQ(ws.quant_record().back()["step"], "smoothquant");
}

}  // namespace
}  // namespace qlab
