// ModelConfig from Hugging Face config.json texts of each supported family,
// written here in the shapes the real checkpoints use.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/model/config.h"
#include "test_util.h"

namespace qlab {
namespace {

ModelConfig parse(const std::string& text) { return ModelConfig::from_json_text(text, "cfg/config.json"); }

void expect_error(const std::string& text, const std::string& needle) {
  try {
    parse(text);
    FAIL() << "accepted; expected '" << needle << "'";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind("cfg/config.json: ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

void expect_same(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.architecture, b.architecture);
  EXPECT_EQ(a.model_type, b.model_type);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.num_kv_heads, b.num_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.max_position, b.max_position);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope.theta, b.rope.theta);
  EXPECT_EQ(a.rope.type, b.rope.type);
  EXPECT_EQ(a.rope.factor, b.rope.factor);
  EXPECT_EQ(a.rope.low_freq_factor, b.rope.low_freq_factor);
  EXPECT_EQ(a.rope.high_freq_factor, b.rope.high_freq_factor);
  EXPECT_EQ(a.rope.original_max_position, b.rope.original_max_position);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.attention_bias, b.attention_bias);
  EXPECT_EQ(a.sliding_window, b.sliding_window);
  EXPECT_EQ(a.bos_token_ids, b.bos_token_ids);
  EXPECT_EQ(a.eos_token_ids, b.eos_token_ids);
  EXPECT_EQ(a.torch_dtype, b.torch_dtype);
}

// The shape of Llama-2-7b's config.json.
const char* kLlama2 = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 11008, "max_position_embeddings": 4096,
  "num_attention_heads": 32, "num_hidden_layers": 32, "rms_norm_eps": 1e-05, "rope_scaling": null,
  "tie_word_embeddings": false, "torch_dtype": "float16", "vocab_size": 32000})";

TEST(ModelConfig, Llama2Defaults) {
  ModelConfig c = parse(kLlama2);
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.num_kv_heads, 32);     // defaults to num_attention_heads
  EXPECT_EQ(c.head_dim, 128);        // 4096 / 32
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.rope.theta, 10000.0);  // default when rope_theta is absent
  EXPECT_EQ(c.rope.type, "default");
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_EQ(c.bos_token_ids, std::vector<int64_t>{1});
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_EQ(c.torch_dtype, "float16");
}

// Llama-3.2-1B-Instruct: llama3 rope scaling, tied embeddings, several EOS ids.
const char* kLlama32 = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": false, "mlp_bias": false,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_size": 2048,
  "intermediate_size": 8192, "max_position_embeddings": 131072, "num_attention_heads": 32,
  "num_hidden_layers": 16, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256})";

TEST(ModelConfig, Llama3RopeScaling) {
  ModelConfig c = parse(kLlama32);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_EQ(c.rope.factor, 32.0);
  EXPECT_EQ(c.rope.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope.original_max_position, 8192);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
}

TEST(ModelConfig, OlderRopeScalingKeyType) {
  std::string text = kLlama32;
  text.replace(text.find("\"rope_type\""), 11, "\"type\"");
  EXPECT_EQ(parse(text).rope.type, "llama3");
}

// transformers 5 writes rope settings under rope_parameters, theta included.
TEST(ModelConfig, RopeParameters) {
  ModelConfig c = parse(R"({
    "architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 2048,
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    "dtype": "bfloat16"})");
  EXPECT_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_EQ(c.rope.factor, 8.0);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.model_type, "llama");   // from the architecture when absent

  ModelConfig d = parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 16,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}})");
  EXPECT_EQ(d.rope.theta, 1000000.0);
  EXPECT_EQ(d.rope.type, "default");
}

// Qwen2.5-0.5B-Instruct.
const char* kQwen = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
  "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
  "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
  "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936})";

TEST(ModelConfig, Qwen2) {
  ModelConfig c = parse(kQwen);
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_TRUE(c.attention_bias);
  EXPECT_EQ(c.sliding_window, 0);    // use_sliding_window false
  EXPECT_EQ(c.head_dim, 64);         // 896 / 14
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope.theta, 1e6);

  std::string sliding = kQwen;
  sliding.replace(sliding.find("\"use_sliding_window\": false"), 27, "\"use_sliding_window\": true");
  expect_error(sliding, "max_window_layers");
}

// Mistral-7B-v0.1 (window 4096) and v0.3 (window null).
const char* kMistral = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vocab_size": 32000})";

TEST(ModelConfig, MistralSlidingWindow) {
  ModelConfig c = parse(kMistral);
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_FALSE(c.attention_bias);
  std::string v03 = kMistral;
  v03.replace(v03.find("\"sliding_window\": 4096"), 22, "\"sliding_window\": null");
  EXPECT_EQ(parse(v03).sliding_window, 0);
}

TEST(ModelConfig, RoundTripThroughJson) {
  for (const char* text : {kLlama2, kLlama32, kQwen, kMistral}) {
    ModelConfig a = parse(text);
    expect_same(ModelConfig::from_json_text(a.to_json_text(), "again.json"), a);
  }
}

TEST(ModelConfig, Errors) {
  std::string text = kLlama2;
  std::string unknown = text;
  unknown.replace(unknown.find("LlamaForCausalLM"), 16, "GPT2LMHeadModel");
  expect_error(unknown, "architecture 'GPT2LMHeadModel' is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");

  std::string missing = text;
  missing.replace(missing.find("\"hidden_size\": 4096,"), 20, "");
  expect_error(missing, "missing required key 'hidden_size'");

  std::string wrong_type = text;
  wrong_type.replace(wrong_type.find("\"vocab_size\": 32000"), 19, "\"vocab_size\": \"32000\"");
  expect_error(wrong_type, "key 'vocab_size' must be an integer");

  std::string yarn = kLlama32;
  yarn.replace(yarn.find("\"llama3\""), 8, "\"yarn\"");
  expect_error(yarn, "rope type 'yarn' is not supported");

  std::string gqa = kMistral;
  gqa.replace(gqa.find("\"num_key_value_heads\": 8"), 24, "\"num_key_value_heads\": 5");
  expect_error(gqa, "not a multiple of num_key_value_heads 5");

  expect_error("{\"architectures\": [\"LlamaForCausalLM\"],", "not valid JSON");
  expect_error("[]", "not a JSON object");
  expect_error("{}", "missing required key 'architectures'");
}

TEST(ModelConfig, FromFileNamesTheFile) {
  std::string dir = test::temp_dir("cfg");
  test::write_file(dir + "/config.json", kQwen);
  EXPECT_EQ(ModelConfig::from_file(dir + "/config.json").vocab_size, 151936);
  try {
    ModelConfig::from_file(dir + "/absent.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir + "/absent.json: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace qlab
