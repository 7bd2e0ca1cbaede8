// Quantizer: validation, the integer grid, hand-worked values, granularity,
// clip search and the straight-through gradient.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/quant/quantizer.h"

namespace qlab {
namespace {

QuantConfig config(int bits, bool symmetric, Granularity g = Granularity::PerChannel, int64_t groupsize = 0) {
  QuantConfig c;
  c.bits = bits;
  c.symmetric = symmetric;
  c.granularity = g;
  c.groupsize = groupsize;
  return c;
}

void expect_usage_error(const QuantConfig& c, int64_t width, const std::string& fragment) {
  try {
    c.validate_width(width, "study.yaml");
    FAIL() << "no error for " << fragment;
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("study.yaml: ", 0), 0u) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
}

TEST(Quantizer, ValidationNamesTheProblem) {
  expect_usage_error(config(9, true), 64, "bits must be 2..8");
  expect_usage_error(config(1, true), 64, "bits must be 2..8");
  QuantConfig c = config(4, true);
  c.clip_ratio = 0.0;
  expect_usage_error(c, 64, "clip ratio must be in (0, 1]");
  c.clip_ratio = 1.5;
  expect_usage_error(c, 64, "clip ratio must be in (0, 1]");
  expect_usage_error(config(4, true, Granularity::PerGroup, 48), 64, "groupsize 48 does not divide");
  expect_usage_error(config(4, true, Granularity::PerGroup, 0), 64, "needs a groupsize");
  EXPECT_NO_THROW(config(16, true).validate_width(64, "x"));   // off: nothing to check
  EXPECT_NO_THROW(config(4, true, Granularity::PerGroup, 16).validate_width(64, "x"));
  EXPECT_THROW(parse_granularity("per_row", "x"), UsageError);
  EXPECT_EQ(parse_granularity("per_group", "x"), Granularity::PerGroup);
  EXPECT_THROW(fake_quantize(torch::randn({4, 64}), config(3, true, Granularity::PerGroup, 48)), UsageError);
}

TEST(Quantizer, HandWorkedSymmetricAsymmetricAndOffset) {
  const torch::Tensor x = torch::tensor({1.0, -2.0, 0.5, 4.0}, torch::kFloat64).unsqueeze(0);
  // Signed 4-bit: scale 4/7, x*7/4 = 1.75, -3.5, 0.875, 7 -> 2, -4 (half to even), 1, 7.
  torch::Tensor expect = torch::tensor({8.0 / 7, -16.0 / 7, 4.0 / 7, 4.0}, torch::kFloat64).unsqueeze(0);
  EXPECT_TRUE(torch::allclose(fake_quantize(x, config(4, true)), expect, 0, 1e-12));
  // Offset (original GPTQ) grid: scale 8/15, zero 8; 4 * 15/8 = 7.5 -> 8 + 8 = 16 clamps to 15.
  QuantConfig offset = config(4, true);
  offset.symmetric_grid = SymmetricGrid::Offset;
  expect = torch::tensor({2.0 * 8 / 15, -4.0 * 8 / 15, 1.0 * 8 / 15, 7.0 * 8 / 15}, torch::kFloat64).unsqueeze(0);
  EXPECT_TRUE(torch::allclose(fake_quantize(x, offset), expect, 0, 1e-12));
  // Asymmetric 2-bit on [-1, 2]: scale 1, zero 1, every value representable.
  const torch::Tensor y = torch::tensor({-1.0, 0.0, 1.0, 2.0}, torch::kFloat64).unsqueeze(0);
  EXPECT_TRUE(torch::allclose(fake_quantize(y, config(2, false)), y, 0, 1e-12));
  // Clip ratio 0.5 on the signed grid: scale 2/7, 4 clamps to 7 * 2/7 = 2.
  QuantConfig clipped = config(4, true);
  clipped.clip_ratio = 0.5;
  EXPECT_NEAR(fake_quantize(x, clipped)[0][3].item<double>(), 2.0, 1e-12);
  EXPECT_TRUE(fake_quantize(x, config(16, true)).equal(x));
}

TEST(Quantizer, ValuesLieOnTheIntegerGrid) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({16, 64}) * torch::rand({16, 1}) * 3;
  for (int bits : {2, 3, 4, 8})
    for (bool symmetric : {true, false})
      for (SymmetricGrid mode : {SymmetricGrid::Signed, SymmetricGrid::Offset}) {
        QuantConfig c = config(bits, symmetric);
        c.symmetric_grid = mode;
        const QuantGrid g = find_grid(x, c);
        const torch::Tensor q = quantize_codes(x, g);
        const torch::Tensor xq = fake_quantize(x, c);
        EXPECT_TRUE(torch::equal(q, torch::round(q)));
        EXPECT_GE(q.min().item<double>(), static_cast<double>(g.qmin));
        EXPECT_LE(q.max().item<double>(), static_cast<double>(g.qmax));
        EXPECT_EQ(g.qmax - g.qmin + 1, int64_t{1} << bits);
        EXPECT_TRUE(torch::allclose(xq, g.scale * (q - g.zero), 1e-6, 1e-6));
        for (int64_t r = 0; r < x.size(0); ++r) {
          auto row = xq[r].contiguous();
          std::set<float> levels(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
          EXPECT_LE(static_cast<int64_t>(levels.size()), int64_t{1} << bits);
        }
        // Nothing is clipped at clip ratio 1 (the offset grid's top code is half a
        // step short of +max): the round-off is at most half a step.
        const torch::Tensor excess = (xq - x).abs() - g.scale / 2 * (1 + 1e-5);
        EXPECT_LE(excess.max().item<double>(), 1e-7) << bits << " bits, sym " << symmetric;
      }
}

TEST(Quantizer, GroupsAreIndependentRowsOfTheLastDim) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({2, 3, 32});
  const torch::Tensor grouped = fake_quantize(x, config(4, false, Granularity::PerGroup, 8));
  for (int64_t k = 0; k < 4; ++k) {
    const torch::Tensor part = x.slice(-1, 8 * k, 8 * k + 8);
    EXPECT_TRUE(torch::equal(grouped.slice(-1, 8 * k, 8 * k + 8), fake_quantize(part, config(4, false))));
  }
  // Per tensor: one scale, from the largest entry overall.
  const torch::Tensor t = fake_quantize(x, config(4, true, Granularity::PerTensor));
  const double scale = x.abs().max().item<double>() / 7;
  EXPECT_TRUE(torch::allclose(t, torch::clamp(torch::round(x / scale), -8, 7) * scale, 1e-6, 1e-6));
  // Activations keep their dtype.
  const torch::Tensor h = x.to(torch::kBFloat16);
  EXPECT_EQ(fake_quantize_activation(h, config(4, false, Granularity::PerToken)).scalar_type(), torch::kBFloat16);
  EXPECT_THROW(fake_quantize_activation(x, config(4, true, Granularity::PerChannel)), UsageError);
  EXPECT_THROW(fake_quantize_weight(x, config(4, true)), UsageError);   // not a matrix
}

TEST(Quantizer, StraightThroughGradientIsIdentity) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({4, 16}, torch::requires_grad());
  const torch::Tensor upstream = torch::randn({4, 16});
  QuantConfig c = config(3, false, Granularity::PerToken);
  const torch::Tensor y = fake_quantize(x, c);
  (y * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(x.grad(), upstream));
  EXPECT_TRUE(torch::allclose(y.detach(), fake_quantize(x.detach(), c)));
  EXPECT_FALSE(torch::allclose(y.detach(), x.detach(), 1e-3, 1e-3));   // it did quantize
  // Through a rotation: the gradient reaches the rotation's parameters.
  const torch::Tensor r = torch::eye(16).requires_grad_(true);
  fake_quantize(x.detach().matmul(r), c).square().sum().backward();
  EXPECT_TRUE(r.grad().defined());
  EXPECT_GT(r.grad().abs().sum().item<double>(), 0.0);
}

// Slow reference: per row, every shrink factor, plain formula, keep the min.
double best_row_error(const torch::Tensor& row, int bits, double norm) {
  const double qmax = (1 << (bits - 1)) - 1, top = row.abs().max().item<double>();
  double best = INFINITY;
  for (int i = 0; i < 80; ++i) {
    const double scale = top * (1.0 - i / 100.0) / qmax;
    const torch::Tensor q = torch::clamp(torch::round(row / scale), -qmax - 1, qmax) * scale;
    best = std::min(best, (q - row).abs().pow(norm).sum().item<double>());
  }
  return best;
}

TEST(Quantizer, ClipSearchFindsTheBestShrinkAndNeverHurts) {
  torch::manual_seed(3);
  // Heavy tails (Student-t like) make clipping worthwhile for most rows.
  const torch::Tensor x = (torch::randn({12, 128}, torch::kFloat64) /
                           torch::sqrt(torch::rand({12, 128}, torch::kFloat64) + 0.05));
  QuantConfig plain = config(3, true), searched = plain;
  searched.clip_search = true;
  const torch::Tensor e_plain = (fake_quantize(x, plain) - x).abs().pow(2.4).sum(1);
  const torch::Tensor e_search = (fake_quantize(x, searched) - x).abs().pow(2.4).sum(1);
  EXPECT_TRUE((e_search <= e_plain + 1e-12).all().item<bool>());
  EXPECT_LT(e_search.sum().item<double>(), 0.95 * e_plain.sum().item<double>());
  for (int64_t r = 0; r < x.size(0); ++r)
    EXPECT_NEAR(e_search[r].item<double>(), best_row_error(x[r], 3, 2.4), 1e-9 * e_plain[r].item<double>());
}

// On CUDA, fake_quantize runs a fused kernel (core/quant/cuda/) where it
// can; the grid-by-grid LibTorch ops (find_grid + fake_quantize_on_grid) are
// the reference, and the kernel repeats their float32 arithmetic exactly.
TEST(Quantizer, CudaFusedPathEqualsTheReferenceOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(3);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
    const torch::Tensor x = (torch::randn({37, 4, 1000}) * torch::rand({37, 4, 1})).to(torch::kCUDA, dtype);
    for (int bits : {2, 3, 4, 8}) {
      for (bool symmetric : {true, false}) {
        QuantConfig c;
        c.bits = bits, c.symmetric = symmetric, c.granularity = Granularity::PerToken, c.clip_ratio = 0.9;
        const torch::Tensor fused = fake_quantize(x, c);
        const torch::Tensor reference = fake_quantize_on_grid(x, find_grid(x, c));
        EXPECT_TRUE(torch::equal(fused, reference)) << dtype << " int" << bits << (symmetric ? " sym" : " asym");
        c.granularity = Granularity::PerGroup, c.groupsize = 125;
        const torch::Tensor groups = x.reshape({37, 4, 8, 125});
        EXPECT_TRUE(torch::equal(fake_quantize(x, c), fake_quantize_on_grid(groups, find_grid(groups, c)).reshape(x.sizes())))
            << dtype << " int" << bits << " groups";
      }
    }
  }
  // A transposed view (the forward's values, [B, heads, T, D] in [B, T, heads, D]
  // memory) is quantized in place of memory order, with the same result.
  const torch::Tensor xt = torch::randn({3, 5, 4, 64}, torch::kCUDA).to(torch::kBFloat16).transpose(1, 2);
  for (const char* g : {"per_token", "per_group"}) {
    QuantConfig c;
    c.bits = 4, c.symmetric = false, c.granularity = parse_granularity(g, "test");
    c.groupsize = c.granularity == Granularity::PerGroup ? 16 : 0;
    const torch::Tensor rows = c.groupsize ? xt.reshape({3, 4, 5, 4, 16}) : xt;
    const torch::Tensor got = fake_quantize(xt, c);
    ASSERT_EQ(got.sizes(), xt.sizes());
    EXPECT_TRUE(torch::equal(got, fake_quantize_on_grid(rows, find_grid(rows, c)).reshape(xt.sizes()))) << g;
  }
  // The values as the forward slices them from the fused q/k/v product: [B,
  // T, 3 x 4 heads x D] rows seen as [B, 4, T, D], a token's heads contiguous
  // and the tokens a whole product row apart, quantized where they lie (head
  // rows of 8 to 32 16-byte packs, a lane each).
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    for (int64_t D : {64, 128}) {
      const torch::Tensor qkv = torch::randn({2, 9, 12 * D}, torch::kCUDA).to(dtype);
      const torch::Tensor v = qkv.narrow(2, 8 * D, 4 * D).view({2, 9, 4, D}).transpose(1, 2);
      for (bool symmetric : {true, false}) {
        QuantConfig c;
        c.bits = 4, c.symmetric = symmetric, c.granularity = Granularity::PerToken, c.clip_ratio = 0.95;
        const torch::Tensor got = fake_quantize(v, c);
        ASSERT_EQ(got.sizes(), v.sizes());
        EXPECT_TRUE(torch::equal(got, fake_quantize_on_grid(v, find_grid(v, c)))) << dtype << " D " << D;
      }
    }
  }
  // Rows of zeros keep scale 1 (the reference's rule) and stay zero.
  const torch::Tensor zeros = torch::zeros({3, 64}, torch::kCUDA);
  QuantConfig c;
  c.bits = 4, c.granularity = Granularity::PerToken;
  EXPECT_TRUE(torch::equal(fake_quantize(zeros, c), zeros));
}

}  // namespace
}  // namespace qlab
