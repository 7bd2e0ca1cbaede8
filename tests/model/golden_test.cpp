// The model runtime against Hugging Face transformers: checkpoints saved by
// transformers 5.17 and the quantities it computed (tools/golden/make_golden.py,
// tests/fixtures/golden/README.md). Token ids and greedy continuations must be
// identical; log-probabilities within 1e-4 relative (fp32).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/model/generate.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "test_util.h"

namespace qlab {
namespace {

nlohmann::json expected(const std::string& dir) {
  std::ifstream f(dir + "/expected.json");
  return nlohmann::json::parse(f);
}

std::string golden(const std::string& family) { return test::fixtures() + "/golden/" + family; }

void expect_logprobs_near(const torch::Tensor& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(0), static_cast<int64_t>(want.size())) << what;
  for (size_t t = 0; t < want.size(); ++t) {
    double g = got[t].item<double>();
    EXPECT_NEAR(g, want[t], 1e-4 * std::max(1.0, std::abs(want[t]))) << what << " token " << t + 1;
  }
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, TokenIdsMatchTransformers) {
  auto dir = golden(GetParam());
  auto tok = Tokenizer::load(dir);
  for (const auto& c : expected(dir)["cases"]) {
    EXPECT_EQ(tok->encode(c["text"].get<std::string>()), c["ids"].get<std::vector<int64_t>>()) << c["text"];
  }
}

TEST_P(Golden, LogprobsAndGreedyMatchTransformers) {
  auto dir = golden(GetParam());
  auto exp = expected(dir);
  Model m = Model::load(dir, torch::kCPU, torch::kFloat32);
  GenerateOptions opt;
  opt.max_new_tokens = 12;
  opt.stop_ids = exp["meta"]["eos"].get<std::vector<int64_t>>();
  for (const auto& c : exp["cases"]) {
    auto ids = c["ids"].get<std::vector<int64_t>>();
    expect_logprobs_near(token_logprobs(m, ids), c["token_logprobs"].get<std::vector<double>>(), c["text"]);
    auto logits = m.forward(torch::tensor(ids).unsqueeze(0))[0][-1];
    auto want = c["last_logits"].get<std::vector<double>>();
    for (size_t v = 0; v < want.size(); v += 37)
      EXPECT_NEAR(logits[v].item<double>(), want[v], 1e-4 * std::max(1.0, std::abs(want[v])));
    EXPECT_EQ(generate(m, {ids}, opt)[0], c["greedy"].get<std::vector<int64_t>>()) << c["text"];
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Golden, ::testing::Values("llama3", "llama2", "qwen2", "mistral"));

// The real model: qlab convert on the llama2c file against transformers on the
// script's own (independent) Python conversion of the same file.
TEST(GoldenStories260K, ConvertedModelMatchesTransformers) {
  QLAB_REQUIRE_SHARED_DATA();
  std::string data = test::shared_data() + "/stories260K";
  std::string out = test::temp_dir("stories") + "/hf";
  auto r = test::run_qlab({"convert", "--from", "llama2c", data + "/stories260K.bin", "--tokenizer", data + "/tok512.model",
                           "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto exp = expected(golden("stories260K"));
  Model m = Model::load(out, torch::kCPU, torch::kFloat32);
  auto tok = Tokenizer::load(out);
  GenerateOptions opt;
  opt.stop_ids = {2};
  for (const auto& c : exp["cases"]) {
    auto ids = c["ids"].get<std::vector<int64_t>>();
    EXPECT_EQ(tok->encode(c["text"].get<std::string>()), ids);
    expect_logprobs_near(token_logprobs(m, ids), c["token_logprobs"].get<std::vector<double>>(), c["text"]);
    opt.max_new_tokens = 12;
    EXPECT_EQ(generate(m, {ids}, opt)[0], c["greedy"].get<std::vector<int64_t>>());
  }
  const auto& first = exp["cases"][0];
  opt.max_new_tokens = 64;
  auto story = generate(m, {first["ids"].get<std::vector<int64_t>>()}, opt)[0];
  EXPECT_EQ(story, first["greedy64"].get<std::vector<int64_t>>());
  EXPECT_EQ(tok->decode(story), first["greedy64_text"].get<std::string>());
}

}  // namespace
}  // namespace qlab
