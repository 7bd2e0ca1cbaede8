// GPTQ on one layer: against a slow one-column-at-a-time OBS reference, against
// RTN on correlated inputs, the identity-Hessian limit, grid membership,
// dead inputs, and the Hessian accumulator.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include "core/error.h"
#include "core/quant/gptq.h"
#include "core/quant/quantizer.h"

namespace qlab {
namespace {

using torch::indexing::Slice;

QuantConfig weight_config(int bits, int64_t groupsize = 0) {
  QuantConfig c;
  c.bits = bits;
  c.granularity = groupsize ? Granularity::PerGroup : Granularity::PerChannel;
  c.groupsize = groupsize;
  return c;
}

// Inputs whose features are strongly correlated (a random mixing of a few
// latent directions plus noise), the case where GPTQ's error feedback helps.
torch::Tensor correlated_inputs(int64_t tokens, int64_t features, int64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor latent = torch::randn({tokens, features / 4});
  const torch::Tensor mix = torch::randn({features / 4, features});
  return latent.matmul(mix) + 0.1 * torch::randn({tokens, features}) +
         torch::randn({1, features}) * 0.5;
}

torch::Tensor hessian_of(const torch::Tensor& x) {
  HessianAccumulator acc(x.size(1));
  acc.add(x);
  return acc.hessian();
}

double output_error(const torch::Tensor& w, const torch::Tensor& q, const torch::Tensor& x) {
  return (w - q).matmul(x.t()).square().sum().item<double>();
}

// Optimal Brain Surgeon one column at a time, in float64, with the full
// inverse Hessian of the remaining columns updated after each step:
//   err = (w_j - q_j) / Hinv_jj;  W[:, j:] -= err Hinv[j, j:];
//   Hinv -= Hinv[:, j] Hinv[j, :] / Hinv_jj
// Groups take their grid from the current weights at their first column.
torch::Tensor reference_gptq(torch::Tensor W, torch::Tensor H, const QuantConfig& cfg,
                             double percdamp, bool act_order) {
  const int64_t cols = W.size(1);
  const int64_t g = cfg.granularity == Granularity::PerGroup ? cfg.groupsize : 0;
  W = W.to(torch::kFloat64).clone();
  H = H.to(torch::kFloat64).clone();
  QuantGrid grid;
  if (!g) grid = find_grid(W.to(torch::kFloat32), cfg);
  for (int64_t i = 0; i < cols; ++i) {
    if (H[i][i].item<double>() != 0) continue;
    H[i][i] = 1.0;
    W.index_put_({Slice(), i}, 0.0);
  }
  torch::Tensor perm = torch::arange(cols);
  if (act_order) {
    perm = std::get<1>(torch::sort(H.diagonal(), true, 0, true));
    W = W.index_select(1, perm);
    H = H.index_select(0, perm).index_select(1, perm);
  }
  H += percdamp * H.diagonal().mean() * torch::eye(cols, torch::kFloat64);
  torch::Tensor Hinv = torch::inverse(H);
  torch::Tensor Q = torch::zeros_like(W);
  for (int64_t j = 0; j < cols; ++j) {
    if (g && j % g == 0) grid = find_grid(W.index({Slice(), Slice(j, j + g)}).to(torch::kFloat32), cfg);
    const torch::Tensor w = W.index({Slice(), j}).clone();
    const torch::Tensor q = fake_quantize_on_grid(w.to(torch::kFloat32).unsqueeze(1), grid).squeeze(1).to(torch::kFloat64);
    Q.index_put_({Slice(), j}, q);
    const double d = Hinv[j][j].item<double>();
    W -= torch::outer((w - q) / d, Hinv[j]);
    Hinv = Hinv - torch::outer(Hinv.index({Slice(), j}), Hinv[j]) / d;
  }
  return Q.index_select(1, torch::argsort(perm)).to(torch::kFloat32);
}

TEST(Gptq, BlockedEqualsOneColumnReference) {
  const torch::Tensor x = correlated_inputs(256, 64, 0);
  const torch::Tensor H = hessian_of(x);
  torch::manual_seed(10);
  const torch::Tensor W = torch::randn({24, 64});
  struct Case { QuantConfig cfg; bool act_order; int64_t blocksize; };
  QuantConfig asym = weight_config(3);
  asym.symmetric = false;
  for (const Case& c : {Case{weight_config(4), false, 16}, Case{weight_config(4), true, 16},
                        Case{asym, false, 128},
                        // groups of 16 straddle blocks of 24: grids need the pending update
                        Case{weight_config(4, 16), false, 24}, Case{weight_config(4, 16), true, 24}}) {
    GptqOptions o;
    o.act_order = c.act_order;
    o.blocksize = c.blocksize;
    const torch::Tensor fast = gptq_quantize(W, H, c.cfg, o).weight;
    const torch::Tensor slow = reference_gptq(W, H, c.cfg, 0.01, c.act_order);
    EXPECT_TRUE(torch::allclose(fast, slow, 1e-5, 1e-5))
        << c.cfg.describe() << " act_order " << c.act_order << " max diff "
        << (fast - slow).abs().max().item<double>();
  }
}

// quantize_weights_gptq stacks the linears that share a Hessian (q, k, v) into
// one call. Each row's arithmetic is its own, but the block products
// (Err1 U) go through the BLAS, which may pick another kernel, with another
// summation order, for another row count: OpenBLAS's small-matrix path does
// here for the 9 rows with groups straddling blocks (310 of 2304 entries differ,
// by at most 4.8e-7). So: float32 rounding, no code moved a grid step (a step
// is >= 1e-2 here).
TEST(Gptq, StackedRowsEqualSeparateCallsToRounding) {
  const torch::Tensor H = hessian_of(correlated_inputs(512, 256, 11));
  const std::vector<torch::Tensor> parts = {torch::randn({200, 256}), torch::randn({77, 256}), torch::randn({9, 256})};
  QuantConfig clip = weight_config(4);
  clip.clip_search = true;
  for (const QuantConfig& cfg : {clip, weight_config(3, 64)})
    for (bool act_order : {false, true}) {
      GptqOptions o;
      o.act_order = act_order;
      o.blocksize = 96;                        // blocks that end inside a group
      const torch::Tensor stacked = gptq_quantize(torch::cat(parts), H, cfg, o).weight;
      int64_t row = 0;
      for (const torch::Tensor& w : parts) {
        const torch::Tensor alone = gptq_quantize(w, H, cfg, o).weight;
        const torch::Tensor mine = stacked.narrow(0, row, w.size(0));
        row += w.size(0);
        EXPECT_TRUE(torch::allclose(mine, alone, 0, 1e-6))
            << cfg.describe() << " act_order " << act_order << " rows " << w.size(0) << " max diff "
            << (mine - alone).abs().max().item<double>();
      }
    }
}

TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputs) {
  for (int64_t seed : {1, 2, 3}) {
    const torch::Tensor x = correlated_inputs(512, 128, seed);
    const torch::Tensor H = hessian_of(x);
    const torch::Tensor W = torch::randn({64, 128});
    for (int64_t groupsize : {0, 32})
      for (bool act_order : {false, true}) {
        const QuantConfig cfg = weight_config(3, groupsize);
        GptqOptions o;
        o.act_order = act_order;
        o.blocksize = 32;
        const GptqResult r = gptq_quantize(W, H, cfg, o);
        const double gptq = output_error(W, r.weight, x), rtn = output_error(W, fake_quantize_weight(W, cfg), x);
        EXPECT_LT(gptq, 0.8 * rtn) << "seed " << seed << " group " << groupsize << " act_order " << act_order;
        EXPECT_GT(r.loss, 0.0);
      }
  }
}

TEST(Gptq, IdentityHessianIsRoundToNearest) {
  torch::manual_seed(4);
  const torch::Tensor W = torch::randn({16, 48});
  for (const QuantConfig& cfg : {weight_config(4), weight_config(3, 16)}) {
    const torch::Tensor q = gptq_quantize(W, torch::eye(48), cfg).weight;
    EXPECT_TRUE(torch::allclose(q, fake_quantize_weight(W, cfg), 0, 1e-6)) << cfg.describe();
  }
}

TEST(Gptq, OutputLiesOnTheGridAndStaticGroupsKeepTheirGrid) {
  const torch::Tensor x = correlated_inputs(256, 64, 5);
  const torch::Tensor W = torch::randn({8, 64});
  const QuantConfig cfg = weight_config(4);
  const torch::Tensor q = gptq_quantize(W, hessian_of(x), cfg).weight;
  const QuantGrid grid = find_grid(W, cfg);      // per-channel grid is fixed from W
  const torch::Tensor codes = q / grid.scale + grid.zero;
  EXPECT_TRUE(torch::allclose(codes, torch::round(codes), 0, 1e-4));
  EXPECT_GE(torch::round(codes).min().item<double>(), -8.0);
  EXPECT_LE(torch::round(codes).max().item<double>(), 7.0);
  // Static groups: every group's grid comes from the original W, even with act_order.
  GptqOptions o;
  o.static_groups = true;
  o.act_order = true;
  const QuantConfig grouped = weight_config(4, 16);
  const torch::Tensor qs = gptq_quantize(W, hessian_of(x), grouped, o).weight;
  for (int64_t c = 0; c < 64; c += 16) {
    const QuantGrid g = find_grid(W.index({Slice(), Slice(c, c + 16)}), grouped);
    const torch::Tensor k = qs.index({Slice(), Slice(c, c + 16)}) / g.scale;
    EXPECT_TRUE(torch::allclose(k, torch::round(k), 0, 1e-4)) << "group at " << c;
  }
}

TEST(Gptq, DeadInputsAreZeroedAndClipSearchRuns) {
  torch::Tensor x = correlated_inputs(128, 32, 6);
  x.index_put_({Slice(), 5}, 0.0);
  const torch::Tensor W = torch::randn({8, 32});
  QuantConfig cfg = weight_config(4);
  cfg.clip_search = true;
  const GptqResult r = gptq_quantize(W, hessian_of(x), cfg);
  EXPECT_TRUE(torch::equal(r.weight.index({Slice(), 5}), torch::zeros({8})));
  EXPECT_LT(output_error(W, r.weight, x), output_error(W, fake_quantize_weight(W, weight_config(4)), x));
}

TEST(Gptq, HessianAccumulatorIsTwiceTheMeanOuterProduct) {
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn({2, 50, 16});
  HessianAccumulator acc(16);
  acc.add(x[0]);
  acc.add(x[1].reshape({5, 10, 16}));        // any leading shape
  const torch::Tensor all = x.reshape({100, 16});
  EXPECT_EQ(acc.samples(), 100);
  EXPECT_TRUE(torch::allclose(acc.hessian(), 2.0 / 100 * all.t().matmul(all), 1e-5, 1e-5));
  EXPECT_THROW(acc.add(torch::randn({4, 15})), UsageError);
  EXPECT_THROW(HessianAccumulator(3).hessian(), UsageError);
}

TEST(Gptq, BadInputsAreUsageErrors) {
  const torch::Tensor W = torch::randn({4, 8});
  EXPECT_THROW(gptq_quantize(W, torch::eye(7), weight_config(4)), UsageError);
  EXPECT_THROW(gptq_quantize(W, torch::eye(8), weight_config(4, 3)), UsageError);
  QuantConfig per_token = weight_config(4);
  per_token.granularity = Granularity::PerToken;
  EXPECT_THROW(gptq_quantize(W, torch::eye(8), per_token), UsageError);
  GptqOptions no_damp;
  no_damp.percdamp = 0.0;
  EXPECT_THROW(gptq_quantize(W, -torch::eye(8), weight_config(4), no_damp), UsageError);   // not PD
  EXPECT_TRUE(torch::equal(gptq_quantize(W, torch::eye(8), weight_config(16)).weight, W));
}

// Device-agnostic: on a GPU the same call gives the CPU's answer (skipped
// where there is no CUDA device).
TEST(Gptq, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Tensor x = correlated_inputs(256, 64, 8);
  const torch::Tensor W = torch::randn({16, 64});
  HessianAccumulator acc(64);
  acc.add(x.cuda());
  EXPECT_TRUE(acc.hessian().is_cuda());
  GptqOptions o;
  o.act_order = true;
  o.blocksize = 16;
  const QuantConfig cfg = weight_config(4, 16);
  const GptqResult gpu = gptq_quantize(W.cuda(), acc.hessian(), cfg, o);
  EXPECT_TRUE(gpu.weight.is_cuda());
  const torch::Tensor cpu = gptq_quantize(W, hessian_of(x), cfg, o).weight;
  EXPECT_LT((gpu.weight.cpu() - cpu).abs().gt(1e-4).sum().item<int64_t>(), 3);   // rare rounding ties
}

}  // namespace
}  // namespace qlab
