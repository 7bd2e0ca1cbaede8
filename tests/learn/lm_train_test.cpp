// Language-model training (core/learn/lm_train.h): a tiny pre-train learns,
// its checkpoint reloads to the same numbers, chat fine-tuning trains on the
// assistant's tokens only, runs are deterministic, a stopped run resumes to
// the uninterrupted weights, and bad input is refused with one line.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/learn/lm_data.h"
#include "core/learn/lm_train.h"
#include "core/learn/train.h"
#include "core/model/bpe_train.h"
#include "core/model/tokenizer.h"
#include "test_util.h"

namespace qlab {
namespace {

// Templated sentences: a small model learns them within a few dozen steps.
std::string corpus() {
  const char* names[] = {"Tom", "Anna", "Lily", "Ben"};
  const char* things[] = {"a red ball", "a small cat", "a big tree", "a blue kite"};
  std::string s;
  for (int i = 0; i < 200; ++i)
    s += std::string(names[i % 4]) + " saw " + things[(i / 4) % 4] + ". " + names[i % 4] + " was happy.\n";
  return s;
}

struct Fixture {
  std::string dir, tokenizer, text, chat;
};

const Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.dir = test::temp_dir("lm_train");
    x.tokenizer = x.dir + "/tok";
    x.text = x.dir + "/corpus.txt";
    x.chat = x.dir + "/chat.jsonl";
    test::write_file(x.text, corpus());
    std::string chat;
    for (int i = 0; i < 20; ++i)
      chat += R"({"messages":[{"role":"user","content":"What did Tom see?"},{"role":"assistant","content":"Tom saw a red ball."}]})"
              "\n";
    test::write_file(x.chat, chat);
    write_tokenizer(train_bpe(corpus() + "What did Tom see?", {320, 2}, "corpus"), x.tokenizer);
    return x;
  }();
  return f;
}

LmTrainOptions tiny(const std::string& out) {
  LmTrainOptions o;
  o.tokenizer_dir = fixture().tokenizer;
  o.text_path = fixture().text;
  o.config = model_config_from_spec(
      "hidden_size=32,intermediate_size=72,num_hidden_layers=2,num_attention_heads=4,num_key_value_heads=2", 0, 32);
  o.steps = 40;
  o.batch = 4;
  o.seq_len = 32;
  o.lr = 1e-2;
  o.min_lr = 1e-3;
  o.warmup = 4;
  o.checkpoint_every = 5;
  o.seed = 3;
  o.out_dir = out;
  return o;
}

std::string expect_usage_error(const LmTrainOptions& o) {
  try {
    train_language_model(o);
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

TEST(LmTrain, TinyPretrainLearnsAndItsCheckpointReloadsToTheSameLoss) {
  const std::string out = test::temp_dir("lm_pretrain") + "/model";
  LmTrainOptions o = tiny(out);
  LmTrainResult r = train_language_model(o);
  auto tok = Tokenizer::load(out);
  const double uniform = std::log(double(tok->vocab_size()));
  ASSERT_EQ(r.losses.size(), 40u);
  EXPECT_NEAR(r.losses.front(), uniform, 0.5);           // std 0.02 init: near uniform
  EXPECT_LT(r.held_loss_after, 0.5 * uniform);
  EXPECT_LT(r.held_loss_after, r.held_loss_before - 2.0);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  EXPECT_FALSE(std::filesystem::exists(out + "/train_state.safetensors"));

  // The held batch, rebuilt here, scores what the trainer measured after its
  // last step, through both loaders.
  std::vector<int64_t> ids = tok->encode(corpus(), false);
  LmData data(ids, {}, tok->pad_id(), {o.batch, o.seq_len, 0.5, false, o.seed}, "corpus");
  torch::NoGradGuard no_grad;
  Model loaded = Model::load(out, torch::kCPU, torch::kFloat32);
  EXPECT_NEAR(batch_loss(loaded, data.batch_at(o.steps), torch::kCPU).item<double>(), r.held_loss_after, 1e-5);
  Model offloaded = Model::load_offloaded(out, torch::kCPU, torch::kFloat32);
  torch::Tensor x = data.batch_at(0).inputs;
  EXPECT_TRUE(torch::allclose(loaded.forward(x), offloaded.forward(x), 1e-5, 1e-5));
}

TEST(LmTrain, SameSeedSameWeights) {
  const std::string a = test::temp_dir("lm_det_a"), b = test::temp_dir("lm_det_b");
  LmTrainOptions o = tiny(a);
  o.steps = 8;
  train_language_model(o);
  o.out_dir = b;
  train_language_model(o);
  EXPECT_EQ(test::read_file(a + "/model.safetensors"), test::read_file(b + "/model.safetensors"));
  o.seed = 4;
  o.out_dir = test::temp_dir("lm_det_c");
  train_language_model(o);
  EXPECT_NE(test::read_file(a + "/model.safetensors"), test::read_file(o.out_dir + "/model.safetensors"));
}

TEST(LmTrain, AStoppedRunResumesToTheUninterruptedWeights) {
  const std::string whole_dir = test::temp_dir("lm_whole");
  LmTrainOptions o = tiny(whole_dir);
  o.steps = 12;
  LmTrainResult whole = train_language_model(o);

  o.out_dir = test::temp_dir("lm_resumed");
  int calls = 0;
  o.should_stop = [&] { return ++calls == 7; };   // after step 7, between checkpoints (every 5)
  EXPECT_THROW(train_language_model(o), TrainingStopped);
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/train_state.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/model.safetensors"));
  o.should_stop = [] { return false; };
  LmTrainResult resumed = train_language_model(o);
  EXPECT_EQ(resumed.resumed_at, 7);
  EXPECT_EQ(resumed.losses, whole.losses);
  EXPECT_EQ(test::read_file(o.out_dir + "/model.safetensors"), test::read_file(whole_dir + "/model.safetensors"));
}

TEST(LmTrain, ACorruptedTrainingStateIsRefusedWithItsPath) {
  LmTrainOptions o = tiny(test::temp_dir("lm_corrupt"));
  o.steps = 6;
  o.should_stop = [] { return true; };
  EXPECT_THROW(train_language_model(o), TrainingStopped);
  const std::string state = o.out_dir + "/train_state.safetensors";
  std::string bytes = test::read_file(state);
  test::write_file(state, bytes.substr(0, bytes.size() / 2));   // truncated, as by a full disk
  o.should_stop = [] { return false; };
  std::string m = expect_usage_error(o);
  EXPECT_EQ(m.rfind(state, 0), 0u) << m;
}

// The mask, built independently from chatml's literal text: everything up to
// and including "<|im_start|>assistant\n" is context, the answer and its
// "<|im_end|>\n" are trained on.
TEST(LmTrain, ChatLossCoversTheAssistantTurnsOnly) {
  auto tok = Tokenizer::load(fixture().tokenizer);
  Conversation c{{"system", "Be brief."}, {"user", "Who saw it?"}, {"assistant", "Tom saw it."},
                 {"user", "And then?"}, {"assistant", "Anna was happy."}};
  std::vector<int64_t> ids;
  std::vector<uint8_t> mask;
  for (auto [text, trained] : std::vector<std::pair<std::string, uint8_t>>{
           {"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho saw it?<|im_end|>\n<|im_start|>assistant\n", 0},
           {"Tom saw it.<|im_end|>\n", 1},
           {"<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n", 0},
           {"Anna was happy.<|im_end|>\n", 1}})
    for (int64_t id : tok->encode(text, false)) ids.push_back(id), mask.push_back(trained);
  MaskedTokens m = tokenize_conversation(*tok, "chatml", c);
  EXPECT_EQ(m.ids, ids);
  EXPECT_EQ(m.mask, mask);

  // In a batch, the weight of target t is the mask of token t + 1; padding weighs 0.
  LmData data({}, {m}, tok->pad_id(), {2, 64, 1.0, false, 0}, "");
  Batch b = data.batch_at(0);
  for (int64_t t = 0; t < 64; ++t) {
    const float expected = t + 1 < static_cast<int64_t>(mask.size()) ? float(mask[t + 1]) : 0.f;
    EXPECT_EQ(b.weights[0][t].item<float>(), expected) << t;
    if (t + 1 < static_cast<int64_t>(ids.size())) EXPECT_EQ(b.targets[0][t].item<int64_t>(), ids[t + 1]);
  }
  // all_tokens: every real target, the conversation cut at seq_len + 1 tokens.
  ASSERT_GT(ids.size(), 40u);
  LmData all({}, {m}, tok->pad_id(), {1, 40, 1.0, true, 0}, "");
  EXPECT_EQ(all.batch_at(0).weights.sum().item<float>(), 40.f);
  LmData all_long({}, {m}, tok->pad_id(), {1, 128, 1.0, true, 0}, "");
  EXPECT_EQ(all_long.batch_at(0).weights.sum().item<float>(), float(ids.size() - 1));
}

TEST(LmTrain, FineTuningOnChatLowersTheAssistantLoss) {
  const std::string base = test::temp_dir("lm_sft_base") + "/m";
  LmTrainOptions o = tiny(base);
  o.steps = 10;
  train_language_model(o);
  LmTrainOptions f;
  f.init_dir = base;
  f.chat_path = fixture().chat;
  f.steps = 15;
  f.batch = 4;
  f.seq_len = 32;
  f.lr = 5e-3;
  f.min_lr = 5e-4;
  f.warmup = 2;
  f.out_dir = test::temp_dir("lm_sft") + "/m";
  LmTrainResult r = train_language_model(f);
  EXPECT_LT(r.held_loss_after, 0.5 * r.held_loss_before);
  EXPECT_NO_THROW(Model::load(f.out_dir, torch::kCPU, torch::kFloat32));
}

TEST(LmTrain, BadInputIsOneLine) {
  const std::string dir = test::temp_dir("lm_bad");
  LmTrainOptions o = tiny(dir + "/out");

  test::write_file(dir + "/empty.txt", "");
  o.text_path = dir + "/empty.txt";
  EXPECT_EQ(expect_usage_error(o), dir + "/empty.txt: empty corpus");

  test::write_file(dir + "/latin1.txt", "caf\xe9 au lait");
  o.text_path = dir + "/latin1.txt";
  EXPECT_EQ(expect_usage_error(o), dir + "/latin1.txt: not valid UTF-8 at byte offset 3");

  test::write_file(dir + "/bad.jsonl",
                   "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n\n{\"messages\":[{\"role\":\"user\"}]}\n");
  o.text_path = "";
  o.chat_path = dir + "/bad.jsonl";
  EXPECT_EQ(expect_usage_error(o), dir + "/bad.jsonl:3: message 1 has no string \"content\"");
  test::write_file(dir + "/notjson.jsonl", "{\"messages\": [\n");
  o.chat_path = dir + "/notjson.jsonl";
  EXPECT_EQ(expect_usage_error(o).rfind(dir + "/notjson.jsonl:1: not JSON", 0), 0u);

  o = tiny(dir + "/huge");
  o.config = model_config_from_spec("hidden_size=16384,intermediate_size=65536,num_hidden_layers=64,num_attention_heads=128", 0, 32);
  std::string m = expect_usage_error(o);
  EXPECT_EQ(m.rfind("model config: training needs about ", 0), 0u) << m;
  EXPECT_FALSE(std::filesystem::exists(dir + "/huge"));   // refused before anything was written

  EXPECT_THROW(model_config_from_spec("hidden_size=30,num_attention_heads=4", 0, 32), UsageError);
  EXPECT_THROW(model_config_from_spec("hidden_size", 0, 32), UsageError);
}

}  // namespace
}  // namespace qlab
