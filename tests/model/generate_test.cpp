// generate() and token_logprobs() against loops written out here with the
// full forward (no cache), one row at a time.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <vector>

#include "core/model/generate.h"
#include "test_models.h"

namespace qlab {
namespace {

using Ids = std::vector<int64_t>;

// Greedy continuation by hand: full forward over the whole sequence, argmax of the last position.
Ids greedy_by_hand(Model& m, Ids seq, int64_t n, const Ids& stop = {}) {
  Ids out;
  for (int64_t i = 0; i < n; ++i) {
    auto logits = m.forward(torch::tensor(seq, torch::kLong).unsqueeze(0))[0][-1];
    int64_t next = logits.argmax().item<int64_t>();
    out.push_back(next);
    seq.push_back(next);
    if (std::find(stop.begin(), stop.end(), next) != stop.end()) break;
  }
  return out;
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  return o;
}

TEST(Generate, GreedyEqualsArgmaxLoop) {
  for (std::string kind : {"llama_gqa", "mistral"}) {
    auto m = test::random_model(test::tiny_config(kind), 3);
    Ids prompt = {1, 17, 42, 8};
    auto got = generate(m, {prompt}, greedy(12));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], greedy_by_hand(m, prompt, 12)) << kind;
  }
}

TEST(Generate, BatchedLeftPaddedEqualsSingleRows) {
  auto m = test::random_model(test::tiny_config("qwen2"), 5);
  std::vector<Ids> prompts = {{1, 5, 9}, {1, 33, 2, 71, 70, 12, 4}, {88}};
  auto got = generate(m, prompts, greedy(8));
  ASSERT_EQ(got.size(), 3u);
  for (size_t b = 0; b < prompts.size(); ++b) EXPECT_EQ(got[b], greedy_by_hand(m, prompts[b], 8)) << "row " << b;
}

TEST(Generate, StopsAtStopIdsAndFinishedRowsStayFinished) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 7);
  std::vector<Ids> prompts = {{1, 20, 21}, {1, 60}};
  auto free_run = greedy_by_hand(m, prompts[0], 10);
  // Stop on the third token row 0 would produce (and wherever it first occurs).
  Ids stop = {free_run[2]};
  auto o = greedy(10);
  o.stop_ids = stop;
  o.pad_id = 0;
  auto got = generate(m, prompts, o);
  auto want0 = greedy_by_hand(m, prompts[0], 10, stop);
  EXPECT_EQ(got[0], want0);
  EXPECT_LE(got[0].size(), 3u);
  EXPECT_EQ(got[0].back(), stop[0]);
  // The other row goes on unaffected by row 0's padding.
  EXPECT_EQ(got[1], greedy_by_hand(m, prompts[1], 10, stop));
}

TEST(Generate, RowsThatFinishLeaveTheBatchAndTheRestGoOnUnchanged) {
  // Eight ragged prompts, each stopped by the token its own free run makes
  // at a different step, so that the batch is compacted several times while
  // rows are still running (some of them after a compaction, some padded).
  auto m = test::random_model(test::tiny_config("llama_gqa"), 17);
  std::vector<Ids> prompts;
  for (int64_t i = 0; i < 8; ++i) {
    Ids p = {1};
    for (int64_t j = 0; j <= i % 4; ++j) p.push_back(3 + 7 * i + j);
    prompts.push_back(p);
  }
  Ids stop;
  for (int64_t i = 0; i < 6; ++i) stop.push_back(greedy_by_hand(m, prompts[i], 12)[1 + i]);
  auto o = greedy(12);
  o.stop_ids = stop;
  auto got = generate(m, prompts, o);
  ASSERT_EQ(got.size(), prompts.size());
  size_t stopped_early = 0;
  for (size_t b = 0; b < prompts.size(); ++b) {
    EXPECT_EQ(got[b], greedy_by_hand(m, prompts[b], 12, stop)) << "row " << b;
    stopped_early += got[b].size() < 12;
  }
  EXPECT_GE(stopped_early, 4u);   // enough finished rows for the batch to shrink
}

TEST(Generate, NothingPastAStopOrTheLastStepIsEmitted) {
  // Greedy decoding launches a step before it reads the last one's tokens:
  // the step after every row has stopped, or after the last, is computed and
  // must not show. Identical prompts stop at the same step.
  auto m = test::random_model(test::tiny_config("llama_gqa"), 23);
  const Ids prompt = {1, 40, 41};
  const auto free_run = greedy_by_hand(m, prompt, 8);
  const std::vector<Ids> prompts(3, prompt);
  auto o = greedy(8);
  o.stop_ids = {free_run[3]};
  const auto want = greedy_by_hand(m, prompt, 8, o.stop_ids);
  ASSERT_LT(want.size(), 8u);
  for (const auto& got : generate(m, prompts, o)) EXPECT_EQ(got, want);
  // The stop token at the last step, and a single step.
  for (int64_t n : {int64_t(want.size()), int64_t(1)}) {
    o.max_new_tokens = n;
    for (const auto& got : generate(m, prompts, o)) EXPECT_EQ(got, Ids(want.begin(), want.begin() + n)) << n;
  }
}

TEST(Generate, TokenReadbackReturnsTokensInOrder) {
  std::vector<torch::Device> devices = {torch::kCPU};
  if (torch::cuda::is_available()) devices.push_back(torch::kCUDA);
  for (auto device : devices) {
    auto a = torch::tensor({3, 1, 4}, torch::kLong).to(device), b = torch::tensor({1, 5}, torch::kLong).to(device);
    TokenReadback readback;
    readback.push(a);
    readback.push(b);
    a.fill_(0);   // after the push: the copy already taken is what comes back
    auto first = readback.pop(), second = readback.pop();
    EXPECT_TRUE(first.device().is_cpu());
    EXPECT_TRUE(torch::equal(first, torch::tensor({3, 1, 4}, torch::kLong))) << device;
    EXPECT_TRUE(torch::equal(second, torch::tensor({1, 5}, torch::kLong))) << device;
    EXPECT_THROW(readback.pop(), std::logic_error);
  }
}

// Ragged prompts whose rows stop at different steps (so that the batch is
// compacted while others run) decoded both ways on `device`.
void expect_fixed_shape_equals_dynamic(torch::Device device) {
  for (std::string kind : {"llama_gqa", "mistral", "qwen2"}) {
    auto c = test::tiny_config(kind);
    c.hidden_size = 256;
    c.head_dim = 64;   // what the decode kernel covers (fused_ops.h), so that CUDA runs it
    auto m = test::random_model(c, 21);
    m.to(device, torch::kFloat32);
    std::vector<Ids> prompts;
    for (int64_t i = 0; i < 6; ++i) {
      Ids p = {1};
      for (int64_t j = 0; j <= i % 3; ++j) p.push_back(5 + 11 * i + j);
      prompts.push_back(p);
    }
    auto o = greedy(14);   // past mistral's window of 5
    for (int64_t i = 0; i < 3; ++i) o.stop_ids.push_back(greedy_by_hand(m, prompts[i], 14)[2 + 3 * i]);
    o.decode_path = DecodePath::Dynamic;
    auto dynamic = generate(m, prompts, o);
    o.decode_path = DecodePath::FixedShape;
    auto fixed = generate(m, prompts, o);
    EXPECT_EQ(fixed, dynamic) << kind;
    for (size_t b = 0; b < prompts.size(); ++b)
      EXPECT_EQ(fixed[b], greedy_by_hand(m, prompts[b], 14, o.stop_ids)) << kind << " row " << b;
  }
}

TEST(Generate, FixedShapeDecodingEqualsTheDynamicPath) { expect_fixed_shape_equals_dynamic(torch::kCPU); }

TEST(Generate, CudaGraphDecodingEqualsTheDynamicPath) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_fixed_shape_equals_dynamic(torch::kCUDA);
}

TEST(Generate, SamplingIsReproducibleFromTheSeed) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 9);
  GenerateOptions o;
  o.greedy = false;
  o.temperature = 2.0;
  o.max_new_tokens = 20;
  o.seed = 123;
  std::vector<Ids> prompts = {{1, 3}, {1, 4, 5}};
  auto a = generate(m, prompts, o), b = generate(m, prompts, o);
  EXPECT_EQ(a, b);
  o.seed = 124;
  EXPECT_NE(generate(m, prompts, o), a);
  // Hot sampling over 100 tokens does not follow the greedy path.
  EXPECT_NE(a[0], greedy_by_hand(m, prompts[0], 20));
}

TEST(Generate, TinyTopPIsGreedy) {
  auto m = test::random_model(test::tiny_config("mistral"), 11);
  GenerateOptions o;
  o.greedy = false;
  o.temperature = 1.5;
  o.top_p = 1e-9;   // only the most likely token survives
  o.max_new_tokens = 10;
  Ids prompt = {1, 50, 51};
  EXPECT_EQ(generate(m, {prompt}, o)[0], greedy_by_hand(m, prompt, 10));
}

TEST(Generate, TokenLogprobsAreTheNextTokenLogSoftmax) {
  auto m = test::random_model(test::tiny_config("qwen2"), 13);
  Ids ids = {1, 9, 8, 7, 50, 3};
  auto lp = token_logprobs(m, ids);
  ASSERT_EQ(lp.size(0), 5);
  EXPECT_EQ(lp.scalar_type(), torch::kFloat64);
  for (size_t t = 1; t < ids.size(); ++t) {
    // The prefix alone predicts token t: log(exp(l_t) / sum exp(l)).
    Ids prefix(ids.begin(), ids.begin() + t);
    auto logits = m.forward(torch::tensor(prefix, torch::kLong).unsqueeze(0))[0][-1].to(torch::kFloat64);
    double want = logits[ids[t]].item<double>() - logits.exp().sum().log().item<double>();
    EXPECT_NEAR(lp[t - 1].item<double>(), want, 1e-5);
    EXPECT_LT(lp[t - 1].item<double>(), 0.0);
  }
  EXPECT_EQ(token_logprobs(m, {1}).size(0), 0);
}

TEST(Generate, NextTokenLogprobsInChunksEqualTheWholeWindow) {
  auto m = test::random_model(test::tiny_config("llama_gqa"), 19);
  auto ids = torch::randint(0, m.config.vocab_size, {3, 17}, torch::kLong);
  auto logits = m.forward(ids).to(torch::kFloat64);   // [3, 17, V], the whole window at once
  auto want = torch::log_softmax(logits.narrow(1, 0, 16), -1).gather(-1, ids.narrow(1, 1, 16).unsqueeze(-1)).squeeze(-1);
  const int64_t V = m.config.vocab_size;
  for (int64_t positions : {1, 5, 16, 100}) {   // per head call: 16 chunks, 4 (the last short), 1, 1
    auto got = next_token_logprobs(m, ids, 3 * V * positions);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/1e-6, /*atol=*/0)) << positions << " positions a call";
  }
}

// On the CPU the log-probabilities are LibTorch's float64 log_softmax of the
// head's float32 logits, bit for bit (CUDA has its own kernel: fused_ops_test).
TEST(Generate, NextTokenLogprobsOnTheCpuAreTheFloat64LogSoftmax) {
  auto m = test::random_model(test::tiny_config("llama3"), 23);
  auto ids = torch::randint(0, m.config.vocab_size, {2, 9}, torch::kLong);
  auto logits = m.head(m.hidden_states(ids).narrow(1, 0, 8)).to(torch::kFloat64);
  auto want = torch::log_softmax(logits, -1).gather(-1, ids.narrow(1, 1, 8).unsqueeze(-1)).squeeze(-1);
  EXPECT_TRUE(torch::equal(next_token_logprobs(m, ids), want));
}

}  // namespace
}  // namespace qlab
