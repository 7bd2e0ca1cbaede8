// llama2.c -> Hugging Face conversion: the q/k row permutation checked through
// RoPE itself, the layout on a synthetic file, and the real stories260K.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/model/llama2c.h"
#include "test_util.h"

namespace qlab {
namespace {

namespace fs = std::filesystem;

// Slow references of the two RoPE conventions on one vector of n_heads heads.
// llama2.c: pairs (2i, 2i+1). Hugging Face: pairs (i, i + head_dim/2).
// Both rotate pair i by pos * 10000^(-2i/head_dim).
std::vector<double> rope(const std::vector<double>& v, int64_t n_heads, int64_t pos, bool interleaved) {
  int64_t hd = int64_t(v.size()) / n_heads;
  std::vector<double> out(v);
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i) {
      double angle = pos * std::pow(10000.0, -2.0 * i / hd);
      int64_t a = h * hd + (interleaved ? 2 * i : i), b = h * hd + (interleaved ? 2 * i + 1 : i + hd / 2);
      out[a] = v[a] * std::cos(angle) - v[b] * std::sin(angle);
      out[b] = v[a] * std::sin(angle) + v[b] * std::cos(angle);
    }
  return out;
}

std::vector<double> matvec(const torch::Tensor& w, const std::vector<double>& x) {
  auto a = w.to(torch::kFloat64).contiguous();
  std::vector<double> y(size_t(a.size(0)), 0.0);
  for (int64_t r = 0; r < a.size(0); ++r)
    for (int64_t c = 0; c < a.size(1); ++c) y[r] += a[r][c].item<double>() * x[c];
  return y;
}

// The attention score of query head h at position m with its kv head at n.
double score(const std::vector<double>& q, const std::vector<double>& k, int64_t heads, int64_t kv_heads, int64_t h) {
  int64_t hd = int64_t(q.size()) / heads, kvh = h / (heads / kv_heads);
  double s = 0;
  for (int64_t d = 0; d < hd; ++d) s += q[h * hd + d] * k[kvh * hd + d];
  return s;
}

TEST(Llama2c, PermutationPreservesAttentionScores) {
  torch::manual_seed(3);
  const int64_t dim = 32, heads = 4, kv_heads = 2, hd = 8;
  torch::Tensor wq = torch::randn({dim, dim}), wk = torch::randn({kv_heads * hd, dim});
  torch::Tensor wq_hf = interleaved_to_rotate_half(wq, heads), wk_hf = interleaved_to_rotate_half(wk, kv_heads);
  std::vector<double> xm(dim), xn(dim);
  for (int64_t i = 0; i < dim; ++i) xm[i] = std::sin(0.7 * i + 1), xn[i] = std::cos(1.3 * i);
  for (auto [m, n] : {std::pair<int64_t, int64_t>{5, 2}, {17, 17}, {100, 3}}) {
    auto q = rope(matvec(wq, xm), heads, m, true), k = rope(matvec(wk, xn), kv_heads, n, true);
    auto q_hf = rope(matvec(wq_hf, xm), heads, m, false), k_hf = rope(matvec(wk_hf, xn), kv_heads, n, false);
    for (int64_t h = 0; h < heads; ++h)
      EXPECT_NEAR(score(q_hf, k_hf, heads, kv_heads, h), score(q, k, heads, kv_heads, h), 1e-9) << m << "," << n << " head " << h;
  }
  // And it really is a permutation: each head's rows become [0,2,4,6,1,3,5,7].
  std::vector<int64_t> order = {0, 2, 4, 6, 1, 3, 5, 7};
  for (int64_t h = 0; h < kv_heads; ++h)
    for (int64_t r = 0; r < hd; ++r) EXPECT_TRUE(torch::equal(wk_hf[h * hd + r], wk[h * hd + order[r]]));
}

// A llama2.c file whose floats count up from 0, so each tensor's position in
// the file is visible in its values.
struct Synthetic {
  int32_t dim = 8, hidden = 12, L = 2, heads = 2, kv = 1, vocab = 10, seq = 6;
  std::string bytes(bool shared) const {
    int64_t hd = dim / heads, kvd = kv * hd;
    int64_t n = vocab * dim + L * dim + L * dim * dim + 2 * L * kvd * dim + L * dim * dim + L * dim + 3 * L * hidden * dim +
                dim + seq * hd + (shared ? 0 : vocab * dim);
    int32_t h[7] = {dim, hidden, L, heads, kv, shared ? vocab : -vocab, seq};
    std::string s(28 + 4 * n, '\0');
    std::memcpy(s.data(), h, 28);
    for (int64_t i = 0; i < n; ++i) {
      float f = float(i);
      std::memcpy(s.data() + 28 + 4 * i, &f, 4);
    }
    return s;
  }
};

TEST(Llama2c, SyntheticLayout) {
  Synthetic s;
  std::string dir = test::temp_dir("l2c");
  test::write_file(dir + "/m.bin", s.bytes(true));
  Llama2cModel m = read_llama2c(dir + "/m.bin");
  EXPECT_TRUE(m.config.tie_word_embeddings);
  EXPECT_EQ(m.tensors.count("lm_head.weight"), 0u);
  EXPECT_EQ(m.config.head_dim, 4);
  // Offsets (in floats) worked out from the layout: embed 80, att norms 16,
  // wq 2*64, wk 2*32, wv 2*32, wo 2*64, ffn norms 16, w1 2*96, w2 2*96, w3 2*96.
  EXPECT_EQ(m.tensors["model.embed_tokens.weight"][9][7].item<float>(), 79);
  EXPECT_EQ(m.tensors["model.layers.1.input_layernorm.weight"][0].item<float>(), 88);
  // head_dim 4: each head's rows become [0, 2, 1, 3].
  EXPECT_EQ(m.tensors["model.layers.0.self_attn.q_proj.weight"][1][0].item<float>(), 96 + 2 * 8);
  EXPECT_EQ(m.tensors["model.layers.0.self_attn.q_proj.weight"][2][0].item<float>(), 96 + 1 * 8);
  EXPECT_EQ(m.tensors["model.layers.0.self_attn.q_proj.weight"][6][0].item<float>(), 96 + 5 * 8);
  EXPECT_EQ(m.tensors["model.layers.1.self_attn.v_proj.weight"][0][0].item<float>(), 96 + 128 + 64 + 32);
  EXPECT_EQ(m.tensors["model.layers.0.self_attn.o_proj.weight"][0][0].item<float>(), 96 + 128 + 64 + 64);
  EXPECT_EQ(m.tensors["model.layers.0.post_attention_layernorm.weight"][0].item<float>(), 96 + 128 + 64 + 64 + 128);
  int64_t w1 = 96 + 128 + 64 + 64 + 128 + 16;
  EXPECT_EQ(m.tensors["model.layers.1.mlp.gate_proj.weight"][0][0].item<float>(), w1 + 96);
  EXPECT_EQ(m.tensors["model.layers.0.mlp.down_proj.weight"][0][1].item<float>(), w1 + 192 + 1);
  EXPECT_EQ(m.tensors["model.layers.0.mlp.up_proj.weight"][0][0].item<float>(), w1 + 384);
  EXPECT_EQ(m.tensors["model.norm.weight"][0].item<float>(), w1 + 576);
  EXPECT_EQ(m.tensors["model.layers.1.mlp.down_proj.weight"].sizes().vec(), (std::vector<int64_t>{8, 12}));

  test::write_file(dir + "/u.bin", s.bytes(false));
  Llama2cModel u = read_llama2c(dir + "/u.bin");
  EXPECT_FALSE(u.config.tie_word_embeddings);
  EXPECT_EQ(u.tensors["lm_head.weight"][0][0].item<float>(), w1 + 576 + 8 + 6 * 4);   // after norm and RoPE tables
}

void expect_read_error(const std::string& path, const std::string& needle) {
  try {
    read_llama2c(path);
    FAIL() << "read; expected '" << needle << "'";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Llama2c, HeaderValidation) {
  Synthetic s;
  std::string dir = test::temp_dir("l2c");
  std::string good = s.bytes(true);
  test::write_file(dir + "/cut.bin", good.substr(0, good.size() - 4));
  expect_read_error(dir + "/cut.bin", "implies " + std::to_string(good.size()) + " bytes but the file has " +
                                          std::to_string(good.size() - 4));
  test::write_file(dir + "/short.bin", good.substr(0, 20));
  expect_read_error(dir + "/short.bin", "shorter than its 28-byte header");
  Synthetic odd = s;
  odd.heads = 3;
  test::write_file(dir + "/odd.bin", odd.bytes(true));
  expect_read_error(dir + "/odd.bin", "inconsistent llama2.c header");
  std::string zero = good;
  std::memset(zero.data() + 8, 0, 4);   // n_layers 0
  test::write_file(dir + "/zero.bin", zero);
  expect_read_error(dir + "/zero.bin", "implausible");
  expect_read_error(dir + "/absent.bin", "cannot read");
}

TEST(Llama2c, Stories260K) {
  QLAB_REQUIRE_SHARED_DATA();
  std::string src = test::shared_data() + "/stories260K";
  std::string out = test::temp_dir("l2c") + "/stories260K";
  convert_llama2c(src + "/stories260K.bin", src + "/tok512.model", out);

  Checkpoint ck = Checkpoint::open(out);
  const ModelConfig& c = ck.config();
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_layers, 5);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.num_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.max_position, 512);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope.theta, 10000.0);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_ids, std::vector<int64_t>{1});
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_EQ(c.torch_dtype, "float32");
  EXPECT_EQ(ck.shape("model.layers.4.self_attn.k_proj.weight"), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(ck.shape("model.layers.0.mlp.down_proj.weight"), (std::vector<int64_t>{64, 172}));

  // wq of layer 2 straight from the file bytes, rows reordered by hand.
  std::string raw = test::read_file(src + "/stories260K.bin");
  int64_t wq2 = 512 * 64 + 5 * 64 + 2 * 64 * 64;   // floats before it
  torch::Tensor q = ck.load("model.layers.2.self_attn.q_proj.weight");
  for (int64_t head : {0, 7})
    for (int64_t r = 0; r < 8; ++r) {
      int64_t src_row = head * 8 + (r < 4 ? 2 * r : 2 * (r - 4) + 1);
      float expected;
      std::memcpy(&expected, raw.data() + 28 + 4 * (wq2 + src_row * 64 + 5), 4);
      EXPECT_EQ(q[head * 8 + r][5].item<float>(), expected) << "head " << head << " row " << r;
    }

  EXPECT_EQ(test::read_file(out + "/tokenizer.model"), test::read_file(src + "/tok512.model"));
  auto tc = nlohmann::json::parse(test::read_file(out + "/tokenizer_config.json"));
  EXPECT_EQ(tc["add_bos_token"], true);
  EXPECT_EQ(tc["add_eos_token"], false);
  EXPECT_EQ(tc["bos_token"], "<s>");
  EXPECT_EQ(tc["eos_token"], "</s>");
  EXPECT_EQ(tc["tokenizer_class"], "LlamaTokenizer");
}

// A --tokenizer that is not the model's SentencePiece model is refused before
// anything is written: a text file, and a real model of another vocabulary.
TEST(Llama2c, TokenizerCheckedBeforeWriting) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string src = test::shared_data() + "/stories260K", dir = test::temp_dir("l2c_tok");
  test::write_file(dir + "/notes.txt", "this is not a tokenizer\n");
  auto text = test::run_qlab({"convert", "--from", "llama2c", src + "/stories260K.bin", "--tokenizer", dir + "/notes.txt",
                              "--out", dir + "/a"});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_EQ(text.err.rfind("qlab convert: " + dir + "/notes.txt: ", 0), 0u) << text.err;
  EXPECT_EQ(std::count(text.err.begin(), text.err.end(), '\n'), 1) << text.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/a"));
  auto other = test::run_qlab({"convert", "--from", "llama2c", src + "/stories260K.bin", "--tokenizer",
                               test::fixtures() + "/golden/llama2/tokenizer.model", "--out", dir + "/b"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("pieces, the checkpoint's vocabulary 512"), std::string::npos) << other.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/b"));
}

}  // namespace
}  // namespace qlab
