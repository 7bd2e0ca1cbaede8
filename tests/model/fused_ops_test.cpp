// The fused CUDA kernels (core/model/fused_ops.h) against the LibTorch ops
// they replace, written out here. Skipped without a CUDA device (and the
// kernels: a CPU build's fused_* always decline, which the first test checks).
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <cmath>
#include <limits>

#include "core/model/fused_ops.h"
#include "core/model/generate.h"
#include "core/model/model.h"
#include "core/model/rope.h"
#include "core/quant/online.h"
#include "core/quant/quantizer.h"
#include "test_models.h"

namespace qlab {
namespace {

const torch::Device kCuda(torch::kCUDA);

TEST(FusedOps, DeclineOnTheCpu) {
  auto x = torch::randn({2, 8});
  EXPECT_FALSE(fused_rms_norm(x, torch::ones({8}), 1e-5).defined());
  auto q = torch::randn({1, 2, 1, 32});
  EXPECT_FALSE(fused_rope(q, torch::ones({1, 1, 32}), torch::ones({1, 1, 32})).defined());
  EXPECT_FALSE(fused_decode_attention(q, q, q, {}, torch::zeros({1}, torch::kLong)).defined());
  const OnlineOp fq = make_online_op("fake_quant", {{"bits", 4}, {"symmetric", true}, {"granularity", "per_token"},
                                                    {"groupsize", 0}, {"clip_ratio", 1.0}, {"clip_search", false}},
                                     {}, torch::kCPU, torch::kFloat32, "t");
  EXPECT_FALSE(fused_rms_norm_quant(x, torch::ones({8}), 1e-5, fq).defined());
  EXPECT_FALSE(fused_target_logprobs(x, torch::zeros({2}, torch::kLong)).defined());
  EXPECT_FALSE(fused_silu_mul(x, x).defined());
  const OnlineOp h = make_online_op("hadamard", {{"n", 8}, {"fallback", false}, {"seed", 0}}, {}, torch::kCPU,
                                    torch::kFloat32, "t");
  EXPECT_FALSE(fused_down_input(x, x, {h}).defined());
  EXPECT_FALSE(fused_rope(q, torch::ones({1, 1, 32}), torch::ones({1, 1, 32}), {h}).defined());
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
        for (bool sliced : {false, true}) {
          // [B, T, H, D] seen as [B, H, T, D], as the forward makes q and k;
          // sliced: the first 3 heads' columns of a product of 5 heads' (the
          // fused q/k/v GEMM's output).
          auto rows = torch::randn({2, 5, (sliced ? 5 : 3) * D}, kCuda).to(dtype);
          auto x = rows.narrow(2, 0, 3 * D).view({2, 5, 3, D}).transpose(1, 2);
          auto pos = torch::arange(5, torch::TensorOptions().dtype(torch::kLong).device(kCuda)).unsqueeze(0).repeat({cos_batch, 1}) + 7;
          auto [cos, sin] = rope_cos_sin(rope_inv_freq(rope, D), pos, dtype);
          auto rotated = torch::cat({-x.narrow(-1, D / 2, D / 2), x.narrow(-1, 0, D / 2)}, -1);
          auto want = x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
          auto got = fused_rope(x, cos, sin);
          ASSERT_TRUE(got.defined());
          EXPECT_TRUE(torch::equal(got, want)) << dtype << " D " << D << " cos batch " << cos_batch << " sliced " << sliced;
        }
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

TEST(FusedOps, SiluMulBitForBitAsTheLibTorchOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(7);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    // I = 96 in 16-byte packs, 45 one element at a time; the gate and up
    // halves of a [B, T, 2I] product, as the fused gate/up GEMM gives them.
    for (int64_t I : {96, 45}) {
      auto product = (4 * torch::randn({2, 7, 2 * I}, kCuda)).to(dtype);
      auto gate = product.narrow(2, 0, I), up = product.narrow(2, I, I);
      auto got = fused_silu_mul(gate, up);
      ASSERT_TRUE(got.defined());
      EXPECT_TRUE(got.is_contiguous());
      EXPECT_TRUE(torch::equal(got, torch::silu(gate) * up)) << dtype << " I " << I;
    }
  }
}

// A fake_quant op with one grid per row, as attach_quantizers makes them.
OnlineOp row_quant_op(bool symmetric, torch::ScalarType dtype) {
  return make_online_op("fake_quant", {{"bits", 4}, {"symmetric", symmetric}, {"granularity", "per_token"},
                                       {"groupsize", 0}, {"clip_ratio", 0.95}, {"clip_search", false}},
                        {}, kCuda, dtype, "t");
}

OnlineOp hadamard_op(int64_t n, torch::ScalarType dtype) {
  return make_online_op("hadamard", {{"n", n}, {"fallback", true}, {"seed", 0}}, {}, kCuda, dtype, "t");
}

// A transform's result against the LibTorch ops': the same products summed
// in another float32 order. In bf16 (exact products, then one rounding) a
// rare element is one unit in the last place apart, and where a second
// product follows (R4's outer factor) such a unit of an intermediate moves
// the outputs it feeds by as much times an entry of F: so at most a unit of
// the larger of the value and the row's rms, in under 1% of the entries. In
// float32 every sum may differ by its own rounding. (Half alike, with its
// unit.)
void expect_within_a_unit(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  auto g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  auto scale = torch::max(w.abs(), w.pow(2).mean(-1, /*keepdim=*/true).sqrt());
  const auto t = got.scalar_type();
  const double unit = t == torch::kFloat32 ? 1e-5 : t == torch::kFloat16 ? 1.01 / 1024 : 1.01 / 128;
  auto diff = (g - w).abs() / scale.clamp_min(1e-6);
  EXPECT_LE(diff.max().item<double>(), unit) << what;
  if (got.scalar_type() != torch::kFloat32)
    EXPECT_LT(diff.gt(0).to(torch::kFloat64).mean().item<double>(), 0.01) << what;
}

// RoPE with the head ops of a W4A4KV4 forward (QuaRot's R3 on q and k, the
// KV quantizer on k) in the rope kernel, against RoPE and then those ops.
TEST(FusedOps, RopeWithHeadOpsAsRopeThenTheOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(9);
  RopeConfig rope;
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    for (int64_t D : {64, 128}) {
      // The first 4 heads' columns of a product of 7 heads' (the q/k/v GEMM's).
      auto product = torch::randn({2, 33, 7 * D}, kCuda).to(dtype);
      auto x = product.narrow(2, 0, 4 * D).view({2, 33, 4, D}).transpose(1, 2);
      auto pos = torch::arange(33, torch::TensorOptions().dtype(torch::kLong).device(kCuda)).unsqueeze(0) + 3;
      auto [cos, sin] = rope_cos_sin(rope_inv_freq(rope, D), pos, dtype);
      const std::string what = std::string(c10::toString(dtype)) + " D " + std::to_string(D);
      const OnlineOp h = hadamard_op(D, dtype);
      auto hadamard_only = fused_rope(x, cos, sin, {h});
      expect_within_a_unit(hadamard_only, h.fn(apply_rope(x, cos, sin)), what + " hadamard");
      for (bool symmetric : {true, false}) {
        const OnlineOp fq = row_quant_op(symmetric, dtype);
        auto quant_only = fused_rope(x, cos, sin, {fq});
        ASSERT_TRUE(quant_only.defined()) << what;
        EXPECT_TRUE(torch::equal(quant_only, fq.fn(apply_rope(x, cos, sin)))) << what << " quant";
        // The quantizer reads the Hadamard's values as its kernel rounds them.
        auto both = fused_rope(x, cos, sin, {h, fq});
        ASSERT_TRUE(both.defined()) << what;
        EXPECT_TRUE(torch::equal(both, fq.fn(hadamard_only))) << what << " hadamard + quant";
      }
      EXPECT_FALSE(fused_rope(x, cos, sin, {row_quant_op(true, dtype), h}).defined()) << "quantizer first";
      EXPECT_FALSE(fused_rope(x, cos, sin, {hadamard_op(2 * D, dtype)}).defined()) << "another order";
    }
  }
}

// down_proj's input under R4 (the Hadamard of the MLP width, optionally the
// per-token quantizer) from the halves of the gate/up product, against
// silu(gate) * up and then the ops: LLaMA-2-7B's H_172 ⊗ H_64, LLaMA-3-8B's
// H_28 ⊗ H_512 and a power of two (no outer factor).
TEST(FusedOps, DownInputAsSiluMulThenTheOps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(10);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
    for (int64_t n : {11008, 14336, 512}) {
      auto product = (3 * torch::randn({3, 5, 2 * n}, kCuda)).to(dtype);
      auto gate = product.narrow(2, 0, n), up = product.narrow(2, n, n);
      const std::string what = std::string(c10::toString(dtype)) + " n " + std::to_string(n);
      const OnlineOp h = hadamard_op(n, dtype);
      auto hadamard_only = fused_down_input(gate, up, {h});
      // 14336 floats staged per row would take 57 KiB of shared memory: declined.
      if (dtype == torch::kFloat32 && n == 14336) {
        EXPECT_FALSE(hadamard_only.defined()) << what;
        continue;
      }
      expect_within_a_unit(hadamard_only, h.fn(torch::silu(gate) * up), what + " hadamard");
      for (bool symmetric : {true, false}) {
        const OnlineOp fq = row_quant_op(symmetric, dtype);
        auto both = fused_down_input(gate, up, {h, fq});
        ASSERT_TRUE(both.defined()) << what;
        // The quantizer reads the Hadamard's values as the kernel rounds them.
        EXPECT_TRUE(torch::equal(both, fq.fn(hadamard_only))) << what << " hadamard + quant " << symmetric;
        EXPECT_FALSE(fused_down_input(gate, up, {fq}).defined()) << what << " no Hadamard";
      }
    }
  }
}

TEST(FusedOps, TargetLogprobsAsTheFloat64LogSoftmax) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  const int64_t rows = 37;
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    // 128256 (LLaMA-3's vocabulary) is read in 16-byte packs; 50257 one
    // logit at a time, and so is a row start off 16 bytes (offset).
    for (int64_t V : {128256, 50257}) {
      for (int64_t offset : {0, 1}) {
        auto flat = (4 * torch::randn({rows * V + offset}, kCuda)).to(dtype);
        auto logits = flat.narrow(0, offset, rows * V).view({rows, V});
        // Rising rows make every thread find a new maximum again and again
        // (the running sum's rescaling); a spike makes one logit dominate.
        logits[0].copy_(torch::linspace(-30, 30, V, kCuda).to(dtype));
        logits[1][V - 1] = 60;
        auto targets = torch::randint(V, {rows}, torch::TensorOptions().dtype(torch::kLong).device(kCuda));
        targets[1] = V - 1;
        auto want = torch::log_softmax(logits.to(torch::kFloat64), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        auto got = fused_target_logprobs(logits, targets);
        ASSERT_TRUE(got.defined());
        ASSERT_EQ(got.scalar_type(), torch::kFloat64);
        ASSERT_EQ(got.sizes(), want.sizes());
        // Only the order of the float64 sums differs.
        EXPECT_LT(((got - want).abs() / want.abs().clamp_min(1e-3)).max().item<double>(), 1e-12)
            << dtype << " V " << V << " offset " << offset;
      }
    }
  }
}

// next_token_logprobs on CUDA (the fused kernel, rows of all positions in
// chunks) against the float64 log-softmax of the whole window's logits.
TEST(FusedOps, NextTokenLogprobsOnCudaAsTheFloat64Path) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto m = test::random_model(test::tiny_config("llama_gqa"), 19);
  m.to(kCuda, torch::kFloat32);
  const int64_t V = m.config.vocab_size;
  auto ids = torch::randint(0, V, {3, 17}, torch::TensorOptions().dtype(torch::kLong).device(kCuda));
  auto logits = m.forward(ids).to(torch::kFloat64);
  auto want = torch::log_softmax(logits.narrow(1, 0, 16), -1).gather(-1, ids.narrow(1, 1, 16).unsqueeze(-1)).squeeze(-1);
  // A logit budget of V float32 logits gives chunks of 5 rows (float32: 20 / 4):
  // ten chunks, the last of three rows, crossing from one batch row to the next.
  for (int64_t max_logits : {V, int64_t(1) << 25}) {
    auto got = next_token_logprobs(m, ids, max_logits);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/1e-6, /*atol=*/0)) << max_logits;
  }
}

}  // namespace
}  // namespace qlab
