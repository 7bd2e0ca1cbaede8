// The transformer forward against a slow float64 reference written here from
// the math (one position and one head at a time), plus the properties the
// runtime promises: KV cache, left padding, offloading, hooks.
#include <gtest/gtest.h>
#include "core/tensor.h"
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <map>
#include <vector>

#include "core/model/linear_blocks.h"
#include "core/model/model.h"
#include "test_models.h"
#include "test_util.h"

namespace qlab {
namespace {

using torch::Tensor;

// ---- the reference -------------------------------------------------------

std::vector<double> reference_inv_freq(const RopeConfig& r, int64_t head_dim) {
  std::vector<double> f;
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    double inv = std::pow(r.theta, -2.0 * i / head_dim);
    if (r.type == "llama3") {
      double wavelength = 2 * M_PI / inv;
      double ratio = r.original_max_position / wavelength;   // periods inside the original context
      if (ratio < r.low_freq_factor) inv /= r.factor;        // long wavelength: stretched
      else if (ratio <= r.high_freq_factor) {                // between: blend
        double s = (ratio - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        inv = (1 - s) * inv / r.factor + s * inv;
      }
    }
    f.push_back(inv);
  }
  return f;
}

Tensor d64(const Tensor& t) { return t.to(torch::kDouble); }

Tensor ref_rmsnorm(const Tensor& x, const Tensor& w, double eps) {
  return x / std::sqrt(x.pow(2).mean().item<double>() + eps) * d64(w);
}

Tensor ref_linear(const Linear& l, const Tensor& x) {
  Tensor y = torch::mv(d64(l.weight), x);
  return l.bias.defined() ? y + d64(l.bias) : y;
}

// Rotates the pairs (i, i + D/2) of each head of x [heads * D] by position * inv_freq[i].
Tensor ref_rope(const Tensor& x, int64_t heads, int64_t D, double position, const std::vector<double>& inv) {
  Tensor y = x.clone();
  auto a = x.accessor<double, 1>();
  auto b = y.accessor<double, 1>();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < D / 2; ++i) {
      double c = std::cos(position * inv[i]), s = std::sin(position * inv[i]);
      double x1 = a[h * D + i], x2 = a[h * D + i + D / 2];
      b[h * D + i] = x1 * c - x2 * s;
      b[h * D + i + D / 2] = x2 * c + x1 * s;
    }
  return y;
}

// Logits [T, vocab] of one unpadded sequence, positions 0..T-1.
Tensor reference_logits(const Model& m, const std::vector<int64_t>& ids) {
  const auto& c = m.config;
  const int64_t T = ids.size(), H = c.num_heads, KV = c.num_kv_heads, D = c.head_dim;
  auto inv = reference_inv_freq(c.rope, D);
  std::vector<Tensor> h;
  for (int64_t id : ids) h.push_back(d64(m.embed.weight[id]));
  for (const Layer& L : m.layers) {
    std::vector<Tensor> q(T), k(T), v(T);
    for (int64_t t = 0; t < T; ++t) {
      Tensor a = ref_rmsnorm(h[t], L.input_norm, c.rms_norm_eps);
      q[t] = ref_rope(ref_linear(L.q, a), H, D, t, inv);
      k[t] = ref_rope(ref_linear(L.k, a), KV, D, t, inv);
      v[t] = ref_linear(L.v, a);
    }
    std::vector<Tensor> next(T);
    for (int64_t t = 0; t < T; ++t) {
      std::vector<Tensor> heads;
      for (int64_t hq = 0; hq < H; ++hq) {
        int64_t hk = hq / (H / KV);
        std::vector<int64_t> keys;
        for (int64_t j = 0; j <= t; ++j)
          if (c.sliding_window == 0 || t - j < c.sliding_window) keys.push_back(j);
        std::vector<double> s;
        for (int64_t j : keys)
          s.push_back(torch::dot(q[t].slice(0, hq * D, (hq + 1) * D), k[j].slice(0, hk * D, (hk + 1) * D)).item<double>() /
                      std::sqrt(double(D)));
        double mx = *std::max_element(s.begin(), s.end()), z = 0;
        for (double& x : s) z += (x = std::exp(x - mx));
        Tensor out = torch::zeros({D}, torch::kDouble);
        for (size_t n = 0; n < keys.size(); ++n) out += s[n] / z * v[keys[n]].slice(0, hk * D, (hk + 1) * D);
        heads.push_back(out);
      }
      Tensor mid = h[t] + ref_linear(L.o, torch::cat(heads));
      Tensor x = ref_rmsnorm(mid, L.post_attn_norm, c.rms_norm_eps);
      Tensor g = ref_linear(L.gate, x);
      next[t] = mid + ref_linear(L.down, g / (1 + torch::exp(-g)) * ref_linear(L.up, x));
    }
    h = next;
  }
  std::vector<Tensor> logits;
  for (auto& x : h) logits.push_back(ref_linear(m.lm_head, ref_rmsnorm(x, m.final_norm, c.rms_norm_eps)));
  return torch::stack(logits);
}

// ---- helpers -------------------------------------------------------------

std::vector<int64_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  auto t = torch::randint(vocab, {n}, torch::Generator(at::detail::createCPUGenerator(seed)), torch::kLong);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

Tensor row(const std::vector<int64_t>& ids) { return torch::tensor(ids, torch::kLong).unsqueeze(0); }

// max |a - b| relative to max |b|.
double rel_err(const Tensor& a, const Tensor& b) {
  return (d64(a) - d64(b)).abs().max().item<double>() / d64(b).abs().max().item<double>();
}

// ---- forward against the reference ---------------------------------------

class ReferenceForward : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceForward, LogitsMatchFloat64Reference) {
  auto m = test::random_model(test::tiny_config(GetParam(), 3), 7);
  auto ids = random_ids(12, m.config.vocab_size, 3);   // longer than mistral's window of 5
  Tensor got = m.forward(row(ids))[0];
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  Tensor want = reference_logits(m, ids);
  EXPECT_LT(rel_err(got, want), 1e-5) << GetParam();
  // The logits carry information: not near-uniform.
  EXPECT_GT(want.std().item<double>(), 0.5);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ReferenceForward,
                         ::testing::Values("llama_gqa", "qwen2", "mistral", "llama3"));

TEST(ModelForward, TiedHeadSharesEmbeddingStorage) {
  auto m = test::random_model(test::tiny_config("qwen2"));
  EXPECT_TRUE(m.lm_head.weight.is_same(m.embed.weight));
  m.to(torch::kCPU, torch::kBFloat16);
  EXPECT_TRUE(m.lm_head.weight.is_same(m.embed.weight));
  const auto& c = m.config;
  int64_t per_layer = 2 * c.hidden_size + c.hidden_size * (2 * c.num_heads * c.head_dim + 2 * c.num_kv_heads * c.head_dim) +
                      (c.num_heads + 2 * c.num_kv_heads) * c.head_dim + 3 * c.hidden_size * c.intermediate_size;
  EXPECT_EQ(m.num_parameters(), c.vocab_size * c.hidden_size + c.hidden_size + c.num_layers * per_layer);
}

TEST(ModelForward, Bfloat16CloseToFloat32) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 5);
  auto ids = row(random_ids(10, m.config.vocab_size, 4));
  Tensor f32 = m.forward(ids);
  m.to(torch::kCPU, torch::kBFloat16);
  Tensor bf16 = m.forward(ids);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat32);
  // bf16 keeps 8 significant bits (relative step 2^-8 = 0.4%); a few percent
  // after two layers and a 64-wide head is the expected size of the error.
  EXPECT_LT(rel_err(bf16, f32), 0.05);
  EXPECT_GT(rel_err(bf16, f32), 0.0);   // it really ran in bf16
  double agree = (bf16.argmax(-1) == f32.argmax(-1)).to(torch::kDouble).mean().item<double>();
  EXPECT_GE(agree, 0.8);
}

// ---- KV cache and padding -------------------------------------------------

class CacheAndPadding : public ::testing::TestWithParam<std::string> {};

TEST_P(CacheAndPadding, IncrementalDecodingEqualsFullForward) {
  auto m = test::random_model(test::tiny_config(GetParam()), 11);
  auto ids = random_ids(11, m.config.vocab_size, 5);
  Tensor full = m.forward(row(ids))[0];
  KVCache cache;
  std::vector<Tensor> parts;
  // A 4-token prompt, one token, a chunk of 3, then single tokens.
  std::vector<std::pair<int64_t, int64_t>> chunks = {{0, 4}, {4, 5}, {5, 8}, {8, 9}, {9, 10}, {10, 11}};
  for (auto [a, b] : chunks) {
    std::vector<int64_t> piece(ids.begin() + a, ids.begin() + b);
    parts.push_back(m.forward(row(piece), {}, &cache)[0]);
    EXPECT_EQ(cache.length(), b);
  }
  EXPECT_LT(rel_err(torch::cat(parts), full), 1e-5);
}

TEST_P(CacheAndPadding, LeftPaddedBatchEqualsSingleRows) {
  auto m = test::random_model(test::tiny_config(GetParam()), 13);
  std::vector<std::vector<int64_t>> rows = {random_ids(9, 100, 1), random_ids(4, 100, 2), random_ids(7, 100, 3)};
  const int64_t T = 9, B = 3;
  Tensor ids = torch::full({B, T}, 0, torch::kLong), mask = torch::zeros({B, T}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = rows[b].size();
    ids[b].slice(0, T - n) = torch::tensor(rows[b], torch::kLong);
    mask[b].slice(0, T - n) = 1;
  }
  KVCache cache;
  Tensor batched = m.forward(ids, mask, &cache);
  EXPECT_FALSE(torch::isnan(batched).any().item<bool>());
  // One more token for every row through the cache.
  Tensor next = torch::tensor({5, 6, 7}, torch::kLong).unsqueeze(1);
  Tensor step = m.forward(next, torch::cat({mask, torch::ones({B, 1}, torch::kLong)}, 1), &cache);
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = rows[b].size();
    Tensor single = m.forward(row(rows[b]))[0];
    EXPECT_LT(rel_err(batched[b].slice(0, T - n), single), 1e-5) << "row " << b;
    auto extended = rows[b];
    extended.push_back(5 + b);
    Tensor single_next = m.forward(row(extended))[0][n];
    EXPECT_LT(rel_err(step[b][0], single_next), 1e-5) << "row " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, CacheAndPadding, ::testing::Values("llama_gqa", "qwen2", "mistral"));

TEST(ModelPositions, PositionIdsCountRealTokensOnly) {
  auto m = test::random_model(test::tiny_config("llama_gqa"));
  Tensor mask = torch::tensor({0, 0, 1, 1, 1, 0, 1, 1, 1, 1}, torch::kLong).view({2, 5});
  auto p = m.positions(mask, 5, 0);
  EXPECT_TRUE(p.position_ids.equal(torch::tensor({1, 1, 0, 1, 2, 1, 0, 1, 2, 3}, torch::kLong).view({2, 5})));
  auto q = m.positions(mask, 2, 3);   // the last two of five, three cached
  EXPECT_TRUE(q.position_ids.equal(torch::tensor({1, 2, 2, 3}, torch::kLong).view({2, 2})));
}

TEST(ModelPositions, SlidingWindowHidesKeysAtDistanceWindowOrMore) {
  auto m = test::random_model(test::tiny_config("mistral"));   // window 5
  auto p = m.positions({}, 8, 0);
  ASSERT_TRUE(p.mask.defined());
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 8; ++j)
      EXPECT_EQ(p.mask[0][0][i][j].item<bool>(), j <= i && i - j < 5) << i << "," << j;
}

// ---- offloading ----------------------------------------------------------

TEST(ModelOffload, OffloadedForwardIsIdentical) {
  auto m = test::random_model(test::tiny_config("qwen2"), 17);
  auto ids = row(random_ids(8, 100, 9));
  Tensor normal = m.forward(ids);
  Tensor cpu_weight = m.layers[0].q.weight;
  m.offload(torch::kCPU);
  EXPECT_TRUE(m.offloaded());
  EXPECT_TRUE(m.forward(ids).equal(normal));
  EXPECT_TRUE(m.layers[0].q.weight.is_same(cpu_weight));   // the stored layer was not replaced
}

TEST(ModelLoad, CheckpointOnDiskLoadsToTheSameLogits) {
  for (std::string kind : {"llama_gqa", "qwen2", "mistral", "llama3"}) {
    auto m = test::random_model(test::tiny_config(kind), 37);
    std::string dir = test::temp_dir("ckpt-" + kind);
    test::write_checkpoint(m, dir);
    auto ids = row(random_ids(9, 100, 6));
    Tensor want = m.forward(ids);
    auto loaded = Model::load(dir, torch::kCPU, torch::kFloat32);
    EXPECT_TRUE(loaded.forward(ids).equal(want)) << kind;
    EXPECT_EQ(loaded.lm_head.weight.is_same(loaded.embed.weight), m.config.tie_word_embeddings) << kind;
    auto offloaded = Model::load_offloaded(dir, torch::kCPU, torch::kFloat32);
    EXPECT_TRUE(offloaded.offloaded());
    EXPECT_TRUE(offloaded.forward(ids).equal(want)) << kind;
  }
}

// ---- hooks ---------------------------------------------------------------

Model copy_of(const Model& m) {
  Model c = m;
  c.embed.weight = m.embed.weight.clone();
  c.lm_head.weight = m.lm_head.weight.is_same(m.embed.weight) ? c.embed.weight : m.lm_head.weight.clone();
  for (auto& l : c.layers)
    for (Linear* x : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
      x->weight = x->weight.clone();
      if (x->bias.defined()) x->bias = x->bias.clone();
    }
  return c;
}

TEST(ModelHooks, ZeroingTheGateInputRemovesTheMlp) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 19);
  auto ids = row(random_ids(6, 100, 2));
  Tensor before = m.forward(ids);
  // With gate's input zeroed, silu(0) = 0 kills the whole MLP of layer 1:
  // the same model as one whose down_proj is zero.
  m.linear("layers.1.gate").input_ops.push_back(transient_op("zero", [](const Tensor& x) { return torch::zeros_like(x); }));
  Tensor hooked = m.forward(ids);
  auto predicted = copy_of(m);
  predicted.layers[1].gate.input_ops.clear();
  predicted.layers[1].down.weight.zero_();
  EXPECT_LT(rel_err(hooked, predicted.forward(ids)), 1e-6);
  EXPECT_GT(rel_err(hooked, before), 1e-3);
}

TEST(ModelHooks, RopeAndValueOpsActWhereThePlanSays) {
  // RoPE is linear, so scaling q after it is scaling Wq; scaling v before the
  // cache is scaling Wv and bv.
  auto m = test::random_model(test::tiny_config("qwen2"), 23);
  auto ids = row(random_ids(7, 100, 4));
  auto times = [](double c) { return transient_op("scale", [c](const Tensor& x) { return x * c; }); };
  auto hooked = copy_of(m), predicted = copy_of(m);
  hooked.layers[0].q_rope_ops.push_back(times(1.7));
  hooked.layers[1].v_ops.push_back(times(-0.5));
  predicted.layers[0].q.weight.mul_(1.7);
  predicted.layers[0].q.bias.mul_(1.7);
  predicted.layers[1].v.weight.mul_(-0.5);
  predicted.layers[1].v.bias.mul_(-0.5);
  EXPECT_LT(rel_err(hooked.forward(ids), predicted.forward(ids)), 1e-5);
  EXPECT_GT(rel_err(hooked.forward(ids), m.forward(ids)), 1e-3);
  // k after RoPE: a k_rope_op reproducing the keys of another model is that model.
  auto other = copy_of(m);
  other.layers[1].k.weight.mul_(2.0);
  other.layers[1].k.bias.mul_(2.0);
  auto k_hooked = copy_of(m);
  k_hooked.layers[1].k_rope_ops.push_back(times(2.0));
  EXPECT_LT(rel_err(k_hooked.forward(ids), other.forward(ids)), 1e-5);
}

TEST(ModelHooks, CaptureSeesEveryLinearInputWithItsShape) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 29);
  std::map<std::string, std::vector<int64_t>> seen;
  for (const auto& name : m.linear_names())
    m.linear(name).input_ops.push_back(capture_op([&seen, name](const Tensor& x) { seen[name] = x.sizes().vec(); }));
  std::vector<int64_t> q_shape, k_shape, v_shape;
  m.layers[0].q_rope_ops.push_back(capture_op([&](const Tensor& x) { q_shape = x.sizes().vec(); }));
  m.layers[0].k_rope_ops.push_back(capture_op([&](const Tensor& x) { k_shape = x.sizes().vec(); }));
  m.layers[0].v_ops.push_back(capture_op([&](const Tensor& x) { v_shape = x.sizes().vec(); }));
  m.forward(torch::randint(100, {2, 5}, torch::kLong));
  EXPECT_EQ(seen.size(), 2 * 7 + 1u);
  using V = std::vector<int64_t>;
  EXPECT_EQ(seen["layers.1.q"], (V{2, 5, 64}));
  EXPECT_EQ(seen["layers.0.o"], (V{2, 5, 64}));
  EXPECT_EQ(seen["layers.0.down"], (V{2, 5, 96}));
  EXPECT_EQ(seen["lm_head"], (V{2, 5, 64}));
  EXPECT_EQ(q_shape, (V{2, 4, 5, 16}));
  EXPECT_EQ(k_shape, (V{2, 2, 5, 16}));
  EXPECT_EQ(v_shape, (V{2, 2, 5, 16}));
}

TEST(ModelHooks, LayerwiseApiIsTheForward) {
  auto m = test::random_model(test::tiny_config("mistral"), 31);
  Tensor ids = torch::randint(100, {2, 9}, torch::kLong);
  auto pos = m.positions({}, 9, 0);
  Tensor h = m.embed_tokens(ids);
  for (size_t i = 0; i < m.layers.size(); ++i) h = m.layer_forward(i, h, pos);
  EXPECT_TRUE(m.head(h).equal(m.forward(ids)));
}

TEST(ModelNames, LinearNamesResolveAndBadNamesThrow) {
  auto m = test::random_model(test::tiny_config("llama_gqa"));
  auto names = m.linear_names();
  ASSERT_EQ(names.size(), 15u);
  EXPECT_EQ(names.front(), "layers.0.q");
  EXPECT_EQ(names.back(), "lm_head");
  EXPECT_TRUE(m.linear("layers.1.up").weight.is_same(m.layers[1].up.weight));
  for (std::string bad : {"layers.2.q", "layers.x.q", "layers.0.qq", "layers.0", "embed"})
    EXPECT_THROW(m.linear(bad), std::out_of_range) << bad;
}

}  // namespace
}  // namespace qlab
