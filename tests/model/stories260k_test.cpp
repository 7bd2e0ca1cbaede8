// The one real trained model: stories260K (llama2.c format) converted with
// `qlab convert` and run by the runtime. A forward written here on the raw
// llama2.c weights, with llama2.c's adjacent-pair RoPE, must give the same
// logits: that proves the conversion's row permutation and the runtime's
// rotate-half RoPE together.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/model/generate.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "test_util.h"

namespace qlab {
namespace {

using torch::Tensor;

std::string converted_dir() {
  static std::string dir;
  if (dir.empty()) {
    std::string data = test::shared_data() + "/stories260K";
    dir = test::temp_dir("stories") + "/model";
    auto r = test::run_qlab({"convert", "--from", "llama2c", data + "/stories260K.bin", "--tokenizer",
                             data + "/tok512.model", "--out", dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  return dir;
}

// llama2.c's run.c, in float64, all positions at once.
Tensor llama2c_logits(const std::string& path, const std::vector<int64_t>& ids) {
  std::string bytes = test::read_file(path);
  int32_t h[7];
  std::memcpy(h, bytes.data(), sizeof h);
  const int64_t dim = h[0], hidden = h[1], L = h[2], H = h[3], KV = h[4], vocab = std::abs(h[5]);
  const int64_t hs = dim / H, kv_dim = KV * hs, T = ids.size();
  const float* p = reinterpret_cast<const float*>(bytes.data() + sizeof h);
  auto take = [&](std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    Tensor t = torch::from_blob(const_cast<float*>(p), shape, torch::kFloat32).to(torch::kDouble);
    p += n;
    return t;
  };
  Tensor emb = take({vocab, dim}), att_norm = take({L, dim}), wq = take({L, dim, dim}), wk = take({L, kv_dim, dim}),
         wv = take({L, kv_dim, dim}), wo = take({L, dim, dim}), ffn_norm = take({L, dim}), w1 = take({L, hidden, dim}),
         w2 = take({L, dim, hidden}), w3 = take({L, hidden, dim}), final_norm = take({dim});
  auto rmsnorm = [](const Tensor& x, const Tensor& w) { return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-5) * w; };
  // Pairs (2i, 2i+1) of each head turn by pos / 10000^(2i / head_size).
  Tensor pos = torch::arange(T, torch::kDouble).unsqueeze(1);
  Tensor freq = torch::pow(10000.0, -torch::arange(0, hs, 2, torch::kDouble) / double(hs));
  Tensor c = torch::cos(pos * freq).view({T, 1, hs / 2}), s = torch::sin(pos * freq).view({T, 1, hs / 2});
  auto rope = [&](const Tensor& x, int64_t heads) {
    Tensor pairs = x.view({T, heads, hs / 2, 2});
    Tensor a = pairs.select(3, 0), b = pairs.select(3, 1);
    return torch::stack({a * c - b * s, a * s + b * c}, 3).view({T, heads, hs});
  };
  Tensor x = emb.index_select(0, torch::tensor(ids, torch::kLong));
  Tensor causal = torch::ones({T, T}, torch::kBool).tril();
  for (int64_t l = 0; l < L; ++l) {
    Tensor xb = rmsnorm(x, att_norm[l]);
    Tensor q = rope(xb.matmul(wq[l].t()), H), k = rope(xb.matmul(wk[l].t()), KV);
    Tensor v = xb.matmul(wv[l].t()).view({T, KV, hs});
    std::vector<Tensor> heads;
    for (int64_t hq = 0; hq < H; ++hq) {
      int64_t hk = hq / (H / KV);
      Tensor att = q.select(1, hq).matmul(k.select(1, hk).t()) / std::sqrt(double(hs));
      att = att.masked_fill(causal.logical_not(), -INFINITY).softmax(-1);
      heads.push_back(att.matmul(v.select(1, hk)));
    }
    x = x + torch::cat(heads, 1).matmul(wo[l].t());
    xb = rmsnorm(x, ffn_norm[l]);
    Tensor g = xb.matmul(w1[l].t());
    x = x + (g * torch::sigmoid(g) * xb.matmul(w3[l].t())).matmul(w2[l].t());
  }
  return rmsnorm(x, final_norm).matmul(emb.t());
}

TEST(Stories260K, ConvertedModelMatchesLlama2cForward) {
  QLAB_REQUIRE_SHARED_DATA();
  auto m = Model::load(converted_dir(), torch::kCPU, torch::kFloat32);
  std::vector<int64_t> ids = {1, 403, 407, 261, 378, 63, 99, 10, 5, 310, 42, 77, 200, 13, 91, 270, 2, 480, 17, 300};
  Tensor got = m.forward(torch::tensor(ids, torch::kLong).unsqueeze(0))[0].to(torch::kDouble);
  Tensor want = llama2c_logits(test::shared_data() + "/stories260K/stories260K.bin", ids);
  double rel = (got - want).abs().max().item<double>() / want.abs().max().item<double>();
  EXPECT_LT(rel, 1e-5);
}

TEST(Stories260K, GreedyStoryIsEnglish) {
  QLAB_REQUIRE_SHARED_DATA();
  auto dir = converted_dir();
  auto tok = Tokenizer::load(dir);
  auto m = Model::load(dir, torch::kCPU, torch::kFloat32);
  auto prompt = tok->encode("Once upon a time", true);
  ASSERT_EQ(prompt.front(), 1);   // BOS
  GenerateOptions o;
  o.max_new_tokens = 80;
  o.stop_ids = tok->eos_ids();
  std::string text = tok->decode(generate(m, {prompt}, o)[0]);
  EXPECT_NE(text.find(" the "), std::string::npos) << text;
  size_t letters = 0;
  for (unsigned char ch : text) letters += std::isalpha(ch) || ch == ' ';
  EXPECT_GT(double(letters) / text.size(), 0.9) << text;
  EXPECT_GT(text.size(), 100u) << text;
}

TEST(Stories260K, ScoreCommandPrintsIdsAndLogprobSum) {
  QLAB_REQUIRE_SHARED_DATA();
  auto dir = converted_dir();
  auto r = test::run_qlab({"score", dir, "--text", "Once upon a time, there was a little girl.", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tok = Tokenizer::load(dir);
  auto ids = tok->encode("Once upon a time, there was a little girl.", true);
  auto m = Model::load(dir, torch::kCPU, torch::kFloat32);
  // Independently: sum over t >= 1 of log_softmax(logits[t-1])[ids[t]].
  Tensor logits = m.forward(torch::tensor(ids, torch::kLong).unsqueeze(0))[0].to(torch::kDouble);
  double want = 0;
  for (size_t t = 1; t < ids.size(); ++t)
    want += logits[t - 1][ids[t]].item<double>() - logits[t - 1].exp().sum().log().item<double>();
  std::string ids_text = "[";
  for (size_t i = 0; i < ids.size(); ++i) ids_text += (i ? "," : "") + std::to_string(ids[i]);
  EXPECT_NE(r.out.find("\"ids\":" + ids_text + "]"), std::string::npos) << r.out;
  auto at = r.out.find("\"logprob_sum\":");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_NEAR(std::stod(r.out.substr(at + 14)), want, 1e-4);
  EXPECT_LT(want, 0);
}

TEST(Stories260K, GenerateCommandGreedyJson) {
  QLAB_REQUIRE_SHARED_DATA();
  auto dir = converted_dir();
  auto r = test::run_qlab({"generate", dir, "--prompt", "Once upon a time", "--max-new-tokens", "20", "--greedy", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tok = Tokenizer::load(dir);
  auto m = Model::load(dir, torch::kCPU, torch::kFloat32);
  GenerateOptions o;
  o.max_new_tokens = 20;
  o.stop_ids = tok->eos_ids();
  auto want = generate(m, {tok->encode("Once upon a time", true)}, o)[0];
  std::string want_text = "\"generated_ids\":[";
  for (size_t i = 0; i < want.size(); ++i) want_text += (i ? "," : "") + std::to_string(want[i]);
  EXPECT_NE(r.out.find(want_text + "]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"prompt_ids\":[1,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"text\":"), std::string::npos) << r.out;
  // Usage errors are one line and exit 2.
  auto bad = test::run_qlab({"generate", dir, "--prompt", "x", "--top-p", "1.5"});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace qlab
