// `qlab train-tokenizer` and `qlab train` through the binary: tokenizer, a
// tiny pre-train and a chat fine-tune give checkpoints that `qlab score` and
// `qlab generate` read; Ctrl-C keeps the state and a rerun resumes; bad input
// is exit 2 and one line naming the file.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_util.h"

namespace qlab {
namespace {

namespace fs = std::filesystem;

struct TrainCli : ::testing::Test {
  std::string dir = test::temp_dir("train_cli");
  std::string text = dir + "/corpus.txt", chat = dir + "/chat.jsonl", tok = dir + "/tok";

  void SetUp() override {
    std::string s;
    for (int i = 0; i < 150; ++i) s += "The cat sat on the mat. The dog ran in the park " + std::to_string(i % 7) + ".\n";
    test::write_file(text, s);
    std::string c;
    for (int i = 0; i < 10; ++i)
      c += R"({"messages":[{"role":"user","content":"Where did the cat sit?"},{"role":"assistant","content":"On the mat."}]})" "\n";
    test::write_file(chat, c);
  }
  std::vector<std::string> train_args(const std::string& out, int steps) {
    return {"train", "--tokenizer", tok, "--text", text, "--config",
            "hidden_size=32,intermediate_size=64,num_hidden_layers=2,num_attention_heads=2", "--steps",
            std::to_string(steps), "--batch", "4", "--seq-len", "32", "--lr", "0.01", "--warmup", "2",
            "--min-lr", "0.001", "--out", out};
  }
};

void expect_usage_error(const test::CommandResult& r, const std::string& prefix) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(prefix), std::string::npos) << r.err;
}

TEST_F(TrainCli, TokenizerPretrainFineTuneScoreGenerate) {
  auto t = test::run_qlab({"train-tokenizer", "--text", text, "--chat", chat, "--vocab-size", "300", "--out", tok});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const std::string base = dir + "/base", sft = dir + "/sft";
  auto p = test::run_qlab(train_args(base, 30));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.err.find("train: step 30/30 | loss "), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("tokens/s | ETA"), std::string::npos) << p.err;
  auto f = test::run_qlab({"train", "--init", base, "--chat", chat, "--steps", "10", "--batch", "2", "--seq-len", "32",
                           "--lr", "0.005", "--warmup", "1", "--min-lr", "0.0005", "--out", sft});
  ASSERT_EQ(f.exit_code, 0) << f.err;

  // The trained model predicts its corpus far better than uniform.
  auto s = test::run_qlab({"score", base, "--text", "The cat sat on the mat. The dog ran in the park", "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto j = nlohmann::json::parse(s.out);
  const double per_token = -j["logprob_sum"].get<double>() / double(j["ids"].size() - 1);
  EXPECT_LT(per_token, 0.5 * std::log(300.0)) << s.out;
  auto g = test::run_qlab({"generate", sft, "--chat", "--prompt", "Where did the cat sit?", "--max-new-tokens", "8"});
  EXPECT_EQ(g.exit_code, 0) << g.err;
}

TEST_F(TrainCli, InterruptKeepsTheStateAndARerunResumes) {
  ASSERT_EQ(test::run_qlab({"train-tokenizer", "--text", text, "--vocab-size", "300", "--out", tok}).exit_code, 0);
  const std::string out = dir + "/m", log = dir + "/log.txt";
  std::vector<std::string> args = train_args(out, 100000);
  args.insert(args.end(), {"--checkpoint-every", "100000"});
  int pid = test::start_qlab(args, log);
  for (int i = 0; i < 600 && test::read_file(log).find("step 3/") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGINT);
  EXPECT_EQ(test::wait_exit(pid), 130) << test::read_file(log);
  EXPECT_TRUE(fs::exists(out + "/train_state.safetensors")) << test::read_file(log);
  // The rerun resumes (shown in its first lines); stop it again at once.
  const std::string log2 = dir + "/log2.txt";
  pid = test::start_qlab(args, log2);
  for (int i = 0; i < 600 && test::read_file(log2).find("| loss") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pid, SIGINT);
  EXPECT_EQ(test::wait_exit(pid), 130);
  EXPECT_NE(test::read_file(log2).find("train: resuming at step "), std::string::npos) << test::read_file(log2);
}

TEST_F(TrainCli, BadInputIsExitTwoAndOneLine) {
  expect_usage_error(test::run_qlab({"train-tokenizer", "--text", text, "--vocab-size", "200", "--out", tok}),
                     text + ": vocabulary size 200 is too small for the byte alphabet");
  test::write_file(dir + "/empty.txt", "");
  expect_usage_error(test::run_qlab({"train-tokenizer", "--text", dir + "/empty.txt", "--out", tok}),
                     dir + "/empty.txt: empty corpus");
  test::write_file(dir + "/bad.txt", "ok\xc3(");
  expect_usage_error(test::run_qlab({"train-tokenizer", "--text", dir + "/bad.txt", "--out", tok}),
                     dir + "/bad.txt: not valid UTF-8 at byte offset 2");
  test::write_file(dir + "/bad.jsonl", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\nnot json\n");
  expect_usage_error(test::run_qlab({"train-tokenizer", "--chat", dir + "/bad.jsonl", "--out", tok}),
                     dir + "/bad.jsonl:2: not JSON");
  EXPECT_FALSE(fs::exists(tok));   // nothing was written by the failures

  ASSERT_EQ(test::run_qlab({"train-tokenizer", "--text", text, "--vocab-size", "300", "--out", tok}).exit_code, 0);
  std::vector<std::string> args = train_args(dir + "/huge", 5);
  args[6] = "hidden_size=16384,intermediate_size=65536,num_hidden_layers=64,num_attention_heads=128";
  expect_usage_error(test::run_qlab(args), "model config: training needs about ");
  args = train_args(dir + "/m", 5);
  args[4] = dir + "/empty.txt";
  expect_usage_error(test::run_qlab(args), dir + "/empty.txt: empty corpus");

  // A corrupted training state: refused with its path, the file left for inspection.
  args = train_args(dir + "/m", 5);
  fs::create_directories(dir + "/m");
  test::write_file(dir + "/m/train_state.safetensors", "garbage");
  // The model is built (and its info line logged) before the loop opens the state: the error is the last line.
  auto r = test::run_qlab(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  EXPECT_EQ(last.rfind("qlab train: " + dir + "/m/train_state.safetensors: not a safetensors file", 0), 0u) << r.err;
  EXPECT_TRUE(fs::exists(dir + "/m/train_state.safetensors"));
}

}  // namespace
}  // namespace qlab
