// `qlab convert` and `qlab inspect` through the binary: a bad checkpoint is
// exit code 2 and one line naming the file; a good one is described.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace qlab {
namespace {

namespace fs = std::filesystem;

void expect_usage_error(const test::CommandResult& r, const std::string& file, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(file + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

const char* kConfig = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "intermediate_size": 12,
  "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 16, "max_position_embeddings": 32})";

TEST(ModelCli, InspectMissingConfig) {
  std::string dir = test::temp_dir("cli");
  expect_usage_error(test::run_qlab({"inspect", dir}), dir + "/config.json", "missing");
}

TEST(ModelCli, InspectRefusesPickle) {
  std::string dir = test::temp_dir("cli");
  test::write_file(dir + "/config.json", kConfig);
  test::write_file(dir + "/pytorch_model.bin", "PK");
  expect_usage_error(test::run_qlab({"inspect", dir}), dir + "/pytorch_model.bin", "unpickling can execute arbitrary code");
}

TEST(ModelCli, InspectCorruptSafetensors) {
  std::string dir = test::temp_dir("cli");
  test::write_file(dir + "/config.json", kConfig);
  test::write_file(dir + "/model.safetensors", std::string("\xff\xff\0\0\0\0\0\0{}", 10));
  expect_usage_error(test::run_qlab({"inspect", dir}), dir + "/model.safetensors", "runs past the end of the file");
}

TEST(ModelCli, ConvertBadInput) {
  std::string dir = test::temp_dir("cli");
  test::write_file(dir + "/bad.bin", std::string(40, '\x01'));
  expect_usage_error(test::run_qlab({"convert", "--from", "llama2c", dir + "/bad.bin", "--out", dir + "/out"}),
                     dir + "/bad.bin", "llama2.c header");
  auto r = test::run_qlab({"convert", "--from", "gguf", dir + "/bad.bin", "--out", dir + "/out"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("supported: llama2c"), std::string::npos) << r.err;
  EXPECT_EQ(test::run_qlab({"convert", "--from", "llama2c", dir + "/bad.bin"}).exit_code, 2);   // no --out
  EXPECT_EQ(test::run_qlab({"convert", "--help"}).exit_code, 0);
  EXPECT_EQ(test::run_qlab({"inspect", "--help"}).exit_code, 0);
}

TEST(ModelCli, ConvertThenInspectStories260K) {
  QLAB_REQUIRE_SHARED_DATA();
  std::string src = test::shared_data() + "/stories260K", out = test::temp_dir("cli") + "/m";
  auto c = test::run_qlab({"convert", "--from", "llama2c", src + "/stories260K.bin", "--tokenizer", src + "/tok512.model", "--out", out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto r = test::run_qlab({"inspect", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(j["layers"], 5);
  EXPECT_EQ(j["kv_heads"], 4);
  EXPECT_EQ(j["head_dim"], 8);
  // embed 512*64 + 5 layers * (2 norms*64 + q,o 2*64*64 + k,v 2*32*64 + 3*172*64) + final norm 64; lm_head tied.
  EXPECT_EQ(j["parameters"], 512 * 64 + 5 * (2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 172 * 64) + 64);
  EXPECT_EQ(j["parameters"], 260032);   // the "260K" of the name
  EXPECT_EQ(j["tie_word_embeddings"], true);
  EXPECT_EQ(j["dtypes"]["attention"], nlohmann::json::array({"F32"}));
  EXPECT_TRUE(j["tokenizer"].is_string());
  auto text = test::run_qlab({"inspect", out});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("LlamaForCausalLM"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace qlab
