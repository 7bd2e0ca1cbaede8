// The fused CUDA kernels (core/model/fused_ops.h) against the LibTorch ops
// they replace, written out here. Skipped without a CUDA device (and the
// kernels: a CPU build's fused_* always decline, which the first test checks).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/model/fused_ops.h"
#include "core/model/model.h"
#include "core/model/rope.h"
#include "core/quant/online.h"
#include "core/quant/quantizer.h"

namespace qlab {
namespace {

const torch::Device kCuda(torch::kCUDA);

TEST(FusedOps, DeclineOnTheCpu) {
  auto x = torch::randn({2, 8});
  EXPECT_FALSE(fused_rms_norm(x, torch::ones({8}), 1e-5).defined());
  auto q = torch::randn({1, 2, 1, 32});
  EXPECT_FALSE(fused_rope(q, torch::ones({1, 1, 32}), torch::ones({1, 1, 32})).defined());
  EXPECT_FALSE(fused_decode_attention(q, q, q, {}, torch::zeros({1}, torch::kLong)).defined());
  const OnlineOp h = make_online_op("hadamard", {{"n", 8}}, {}, torch::kCPU, torch::kFloat32, "t");
  const OnlineOp fq = make_online_op("fake_quant", {{"bits", 4}, {"symmetric", true}, {"granularity", "per_token"},
                                                    {"groupsize", 0}, {"clip_ratio", 1.0}, {"clip_search", false}},
                                     {}, torch::kCPU, torch::kFloat32, "t");
  EXPECT_FALSE(fused_transform_quant(h, fq, x).defined());
  EXPECT_FALSE(fused_transform(h, x).defined());
  EXPECT_FALSE(fused_rms_norm_quant(x, torch::ones({8}), 1e-5, fq).defined());
}

TEST(FusedOps, RmsNormAsTheLibTorchOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(3);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto x = (3 * torch::randn({3, 7, 1000}, kCuda)).to(dtype);
    auto w = (1 + 0.1 * torch::randn({1000}, kCuda)).to(dtype);
    auto x32 = x.to(torch::kFloat32);
    auto want = w * (x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + 1e-6)).to(dtype);
    auto got = fused_rms_norm(x, w, 1e-6);
    ASSERT_TRUE(got.defined());
    ASSERT_EQ(got.sizes(), x.sizes());
    auto diff = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs();
    // Only the order of the mean's sum differs: float32 rounding, which in
    // bf16 moves a rare element by one unit in the last place.
    const double ulp = dtype == torch::kFloat32 ? 1e-6 : 1.0 / 128;
    EXPECT_LE((diff / want.to(torch::kFloat64).abs().clamp_min(1e-3)).max().item<double>(), 1.01 * ulp) << dtype;
    if (dtype == torch::kBFloat16) EXPECT_LT(diff.gt(0).to(torch::kFloat64).mean().item<double>(), 0.01);
  }
}

TEST(FusedOps, RmsNormQuantBitForBitAsTheTwoKernels) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(8);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto x = (3 * torch::randn({3, 7, 1000}, kCuda)).to(dtype);
    auto w = (1 + 0.1 * torch::randn({1000}, kCuda)).to(dtype);
    for (bool symmetric : {true, false}) {
      const OnlineOp fq = make_online_op("fake_quant", {{"bits", 4}, {"symmetric", symmetric}, {"granularity", "per_token"},
                                                        {"groupsize", 0}, {"clip_ratio", 0.9}, {"clip_search", false}},
                                         {}, kCuda, dtype, "t");
      auto got = fused_rms_norm_quant(x, w, 1e-6, fq);
      ASSERT_TRUE(got.defined());
      EXPECT_TRUE(torch::equal(got, fq.fn(rms_norm(x, w, 1e-6)))) << dtype << (symmetric ? " sym" : " asym");
    }
  }
}

TEST(FusedOps, RopeBitForBitAsTheLibTorchOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(4);
  RopeConfig rope;
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    // head_dim 64 is read in 16-byte packs; 36 (half of it not a whole pack) one element at a time.
    for (int64_t D : {64, 36}) {
      for (int64_t cos_batch : {1, 2}) {
        // [B, T, H, D] seen as [B, H, T, D], as the forward makes q and k.
        auto x = torch::randn({2, 5, 3, D}, kCuda).to(dtype).transpose(1, 2);
        auto pos = torch::arange(5, torch::TensorOptions().dtype(torch::kLong).device(kCuda)).unsqueeze(0).repeat({cos_batch, 1}) + 7;
        auto [cos, sin] = rope_cos_sin(rope_inv_freq(rope, D), pos, dtype);
        auto rotated = torch::cat({-x.narrow(-1, D / 2, D / 2), x.narrow(-1, 0, D / 2)}, -1);
        auto want = x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
        auto got = fused_rope(x, cos, sin);
        ASSERT_TRUE(got.defined());
        EXPECT_TRUE(torch::equal(got, want)) << dtype << " D " << D << " cos batch " << cos_batch;
      }
    }
  }
}

// softmax(q k^T / sqrt(D)) v over the allowed keys 0..last in float64.
torch::Tensor attention_by_hand(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& allowed, int64_t last) {
  const int64_t B = q.size(0), H = q.size(1), D = q.size(3), KV = k.size(1);
  auto q64 = q.to(torch::kFloat64), k64 = k.narrow(2, 0, last + 1).to(torch::kFloat64),
       v64 = v.narrow(2, 0, last + 1).to(torch::kFloat64);
  k64 = k64.repeat_interleave(H / KV, 1);
  v64 = v64.repeat_interleave(H / KV, 1);
  auto scores = torch::matmul(q64, k64.transpose(2, 3)) / std::sqrt(double(D));   // [B, H, 1, last + 1]
  scores = scores.masked_fill(allowed.narrow(1, 0, last + 1).view({B, 1, 1, last + 1}).logical_not(),
                              -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(scores, -1), v64);
}

TEST(FusedOps, DecodeAttentionReadsOnlyTheWrittenKeys) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(5);
  struct Case { int64_t B, H, KV, D, C, last, pad; torch::ScalarType dtype; };
  const Case cases[] = {
      // Batch 1: the keys split over many blocks, some of them all padding.
      {1, 4, 4, 128, 300, 170, 40, torch::kFloat32},
      // GQA sharing a kv head (4 and 7 query heads a kv head); D = 64.
      {3, 8, 2, 64, 96, 95, 3, torch::kFloat32},
      {2, 14, 2, 64, 50, 33, 5, torch::kBFloat16},
      {5, 4, 1, 128, 40, 12, 3, torch::kFloat32},
      // A large batch (1,280 row-heads: one split, no combine, on a GPU of
      // fewer than 320 SMs) walking several tiles of keys, in the model's dtype.
      {40, 32, 32, 128, 300, 290, 7, torch::kBFloat16},
  };
  for (const Case& c : cases) {
    auto q = torch::randn({c.B, 1, c.H, c.D}, kCuda).to(c.dtype).transpose(1, 2);   // strided, as the forward's
    auto k = torch::randn({c.B, c.KV, c.C, c.D}, kCuda).to(c.dtype), v = torch::randn({c.B, c.KV, c.C, c.D}, kCuda).to(c.dtype);
    // Past the last key: NaN, which the result would show if it were read.
    k.narrow(2, c.last + 1, c.C - c.last - 1).fill_(std::nan(""));
    v.narrow(2, c.last + 1, c.C - c.last - 1).fill_(std::nan(""));
    auto allowed = torch::ones({c.B, c.C}, torch::TensorOptions().dtype(torch::kBool).device(kCuda));
    allowed.narrow(1, 0, c.pad).narrow(0, 0, 1).fill_(false);    // left padding of row 0
    auto want = attention_by_hand(q, k, v, allowed, c.last);
    // The padding may be read but must not count: NaN there too.
    k.narrow(0, 0, 1).narrow(2, 0, c.pad).fill_(std::nan(""));
    v.narrow(0, 0, 1).narrow(2, 0, c.pad).fill_(std::nan(""));
    auto last = torch::full({1}, c.last, torch::TensorOptions().dtype(torch::kLong).device(kCuda));
    auto got = fused_decode_attention(q, k, v, allowed.view({c.B, 1, 1, c.C}), last);
    ASSERT_TRUE(got.defined());
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{c.B, c.H, 1, c.D}));
    EXPECT_EQ(got.scalar_type(), c.dtype);
    // float32 sums in any order; in bf16 also the output's rounding, half a
    // unit in its last place (2^-8 of it).
    const double rel = c.dtype == torch::kBFloat16 ? 1.0 / 256 : 0.0;
    auto excess = (got.to(torch::kFloat64) - want).abs() - rel * want.abs();
    EXPECT_LT(excess.max().item<double>(), 2e-5) << "B " << c.B << " H " << c.H << " D " << c.D;
  }
}

nlohmann::json quant_args(int bits, bool symmetric, const std::string& granularity = "per_token", int64_t groupsize = 0) {
  return {{"bits", bits},           {"symmetric", symmetric},   {"granularity", granularity},
          {"groupsize", groupsize}, {"clip_ratio", 0.9},        {"clip_search", false}};
}

// The fused transform-and-quantize kernel against the two ops run one after
// the other (on CUDA: LibTorch's products, then the fake-quant kernel, itself
// bit-identical to the LibTorch ops). Both quantize the transform's output in
// the dtype, but the kernel sums in another order (a butterfly for H_p,
// tensor-core tiles for the outer factor), so a transformed value on a
// rounding boundary may land one unit of the dtype away. Two things follow:
// if it is a row's extreme, the row's scale moves by about a unit, and every
// value of the row with it, by at most 2^-6 of itself (the "wobble"); if it
// sits on a quantization boundary, its code changes, by one step. So: every
// element within a step (1.1) plus the wobble, and under 1% of the elements
// off by more than the wobble; a wrong transform misses both by far.
TEST(FusedOps, TransformQuantAsTheOpsWrittenOut) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  struct Case {
    const char* kind;
    int64_t order, width;
    torch::ScalarType dtype;
    int bits;
    bool symmetric;
  };
  const Case cases[] = {
      {"hadamard", 11008, 11008, torch::kBFloat16, 4, true},    // LLaMA-2-7B's R4: H_172 ⊗ H_64
      {"hadamard", 11008, 11008, torch::kFloat16, 4, false},
      {"hadamard", 14336, 14336, torch::kBFloat16, 4, false},   // LLaMA-3-8B's: H_28 ⊗ H_512
      {"hadamard", 128, 128, torch::kBFloat16, 4, false},       // R3 on a head, with K's quantizer
      {"hadamard", 128, 128, torch::kFloat32, 8, true},
      {"hadamard_heads", 32, 4096, torch::kBFloat16, 4, true},  // across 32 heads of 128
      {"hadamard_heads", 40, 5120, torch::kBFloat16, 8, false}, // H_20 ⊗ H_2, padded to 48
  };
  for (const Case& c : cases) {
    const nlohmann::json args = {{std::string(c.kind) == "hadamard" ? "n" : "heads", c.order}, {"fallback", true}, {"seed", 0}};
    const OnlineOp h = make_online_op(c.kind, args, {}, kCuda, c.dtype, "t");
    const OnlineOp fq = make_online_op("fake_quant", quant_args(c.bits, c.symmetric), {}, kCuda, c.dtype, "t");
    // Rows of a head's keys as the forward has them: [B, heads, T, D] in [B, T, heads, D] memory.
    const bool keys = c.width == 128;
    const std::vector<int64_t> shape = keys ? std::vector<int64_t>{2, 37, 3, 128} : std::vector<int64_t>{2, 37, c.width};
    std::vector<int64_t> row_shape = shape;
    row_shape.back() = 1;
    auto x = (torch::randn(shape, kCuda) * torch::rand(row_shape, kCuda)).to(c.dtype);
    if (keys) x = x.transpose(1, 2);
    const auto got = fused_transform_quant(h, fq, x);
    ASSERT_TRUE(got.defined()) << c.kind << " " << c.order;
    ASSERT_EQ(got.sizes(), x.sizes());
    ASSERT_EQ(got.scalar_type(), c.dtype);
    const auto transformed = h.fn(x);
    const auto want = fq.fn(transformed);
    QuantConfig cfg;
    cfg.bits = c.bits, cfg.symmetric = c.symmetric, cfg.granularity = Granularity::PerToken, cfg.clip_ratio = 0.9;
    const auto step = find_grid(transformed, cfg).scale.to(torch::kFloat64);   // one per row
    const auto want64 = want.to(torch::kFloat64);
    const auto diff = (got.to(torch::kFloat64) - want64).abs();
    const auto wobble = std::ldexp(1.0, -6) * want64.abs();
    const std::string what = std::string(c.kind) + " " + std::to_string(c.order) + " " + c10::toString(c.dtype);
    EXPECT_TRUE((diff <= 1.1 * step + wobble).all().item<bool>())
        << what << ": up to " << (diff / step).max().item<double>() << " steps";
    EXPECT_LT(diff.gt(wobble).to(torch::kFloat64).mean().item<double>(), 0.01) << what;
    // apply_ops takes the fused path for the pair.
    EXPECT_TRUE(torch::equal(apply_ops({h, fq}, x), got)) << what;
  }
}

// The kernel without a quantizer against the transform op it replaces: the
// same rounding to the dtype, the sums in another order. In bfloat16 a rare
// value lands one unit away (2^-7 of it). In float32 the unfused product
// rounds each of its p terms and the butterfly each of its log2(p) partial
// sums, so most values differ, within (log2 p + 2) roundings of the sum of
// |terms| <= sqrt(p) max|x|.
TEST(FusedOps, TransformAloneAsTheUnfusedOp) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(7);
  struct Case {
    const char* kind;
    int64_t order;
    torch::ScalarType dtype;
  };
  for (const Case& c : {Case{"hadamard", 128, torch::kBFloat16}, Case{"hadamard", 128, torch::kFloat32},
                        Case{"hadamard", 11008, torch::kBFloat16}, Case{"hadamard_heads", 32, torch::kBFloat16}}) {
    const bool heads = std::string(c.kind) == "hadamard_heads";
    const OnlineOp h = make_online_op(c.kind, {{heads ? "heads" : "n", c.order}, {"fallback", true}, {"seed", 0}}, {},
                                      kCuda, c.dtype, "t");
    // R3 sees the queries as [B, heads, T, D] in [B, T, heads, D] memory.
    auto x = c.order == 128 ? torch::randn({2, 37, 4, 128}, kCuda).to(c.dtype).transpose(1, 2)
                            : torch::randn({2, 37, heads ? 4096 : c.order}, kCuda).to(c.dtype);
    const auto got = fused_transform(h, x);
    ASSERT_TRUE(got.defined()) << c.kind << " " << c.order;
    ASSERT_EQ(got.sizes(), x.sizes());
    const auto want = h.fn(x).to(torch::kFloat64);
    const auto diff = (got.to(torch::kFloat64) - want).abs();
    const auto bound =
        c.dtype == torch::kFloat32
            ? (std::log2(double(c.order)) + 2) * std::ldexp(1.0, -24) * std::sqrt(double(c.order)) *
                  x.abs().amax(-1, true).to(torch::kFloat64)
            : std::ldexp(1.0, -7) * (want.abs() + std::ldexp(1.0, -8) * want.abs().amax(-1, true));
    const std::string what = std::string(c.kind) + " " + std::to_string(c.order) + " " + c10::toString(c.dtype);
    EXPECT_TRUE((diff <= bound).all().item<bool>()) << what << ": up to " << diff.max().item<double>();
    if (c.dtype == torch::kBFloat16) EXPECT_LT(diff.gt(0).to(torch::kFloat64).mean().item<double>(), 0.01) << what;
    EXPECT_TRUE(torch::equal(apply_ops({h}, x), got)) << what;
  }
}

TEST(FusedOps, TransformQuantDeclinesWhatItDoesNotCover) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto x = torch::randn({3, 11008}, kCuda);
  auto make = [](const char* kind, const nlohmann::json& args, torch::ScalarType dtype) {
    return make_online_op(kind, args, {}, kCuda, dtype, "t");
  };
  const nlohmann::json r4 = {{"n", 11008}, {"fallback", true}, {"seed", 0}};
  // An outer factor in float32 (tensor cores would round it to TF32).
  EXPECT_FALSE(fused_transform_quant(make("hadamard", r4, torch::kFloat32), make("fake_quant", quant_args(4, true), torch::kFloat32), x).defined());
  const auto xb = x.to(torch::kBFloat16);
  const OnlineOp hb = make("hadamard", r4, torch::kBFloat16);
  // Per-group quantizers, two Hadamard chunks per row, the ops the other way round, a tensor that needs grad.
  EXPECT_FALSE(fused_transform_quant(hb, make("fake_quant", quant_args(4, true, "per_group", 128), torch::kBFloat16), xb).defined());
  EXPECT_FALSE(fused_transform_quant(hb, make("fake_quant", quant_args(4, true), torch::kBFloat16), torch::cat({xb, xb}, -1)).defined());
  EXPECT_FALSE(fused_transform_quant(make("fake_quant", quant_args(4, true), torch::kBFloat16), hb, xb).defined());
  EXPECT_FALSE(fused_transform_quant(hb, make("fake_quant", quant_args(4, true), torch::kBFloat16), xb.clone().requires_grad_(true)).defined());
}

}  // namespace
}  // namespace qlab
