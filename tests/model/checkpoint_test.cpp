// Checkpoint directories: save/open round trip, sharded checkpoints, and the
// errors a user meets with a broken or unsafe directory.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <filesystem>

#include "core/error.h"
#include "core/model/arch.h"
#include "core/model/checkpoint.h"
#include "core/model/safetensors.h"
#include "test_util.h"

namespace qlab {
namespace {

namespace fs = std::filesystem;

ModelConfig tiny(const std::string& arch = "LlamaForCausalLM") {
  ModelConfig c;
  c.architecture = arch;
  c.model_type = arch == "Qwen2ForCausalLM" ? "qwen2" : "llama";
  c.vocab_size = 16;
  c.hidden_size = 8;
  c.intermediate_size = 12;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.head_dim = 4;
  c.max_position = 32;
  c.attention_bias = arch == "Qwen2ForCausalLM";
  c.bos_token_ids = {1};
  c.eos_token_ids = {2};
  return c;
}

// Random tensors with the shapes written out here by hand (not from arch.cpp),
// so that the table in arch.cpp is checked against an independent statement.
std::map<std::string, torch::Tensor> tiny_tensors(const ModelConfig& c) {
  torch::manual_seed(0);
  std::map<std::string, torch::Tensor> t;
  t["model.embed_tokens.weight"] = torch::randn({16, 8});
  for (int i = 0; i < 2; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    t[p + "input_layernorm.weight"] = torch::randn({8});
    t[p + "self_attn.q_proj.weight"] = torch::randn({8, 8});   // 2 heads * 4
    t[p + "self_attn.k_proj.weight"] = torch::randn({4, 8});   // 1 kv head * 4
    t[p + "self_attn.v_proj.weight"] = torch::randn({4, 8});
    t[p + "self_attn.o_proj.weight"] = torch::randn({8, 8});
    t[p + "post_attention_layernorm.weight"] = torch::randn({8});
    t[p + "mlp.gate_proj.weight"] = torch::randn({12, 8});
    t[p + "mlp.up_proj.weight"] = torch::randn({12, 8});
    t[p + "mlp.down_proj.weight"] = torch::randn({8, 12});
    if (c.attention_bias) {
      t[p + "self_attn.q_proj.bias"] = torch::randn({8});
      t[p + "self_attn.k_proj.bias"] = torch::randn({4});
      t[p + "self_attn.v_proj.bias"] = torch::randn({4});
    }
  }
  t["model.norm.weight"] = torch::randn({8});
  if (!c.tie_word_embeddings) t["lm_head.weight"] = torch::randn({16, 8});
  return t;
}

void expect_open_error(const std::string& dir, const std::string& file_prefix, const std::string& needle) {
  try {
    Checkpoint::open(dir);
    FAIL() << "opened; expected '" << needle << "'";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind(file_prefix + ": ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

void write_shard(const std::string& path, const std::map<std::string, torch::Tensor>& tensors) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors)
    entries.push_back({name, "F32", t.sizes().vec(), std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes())});
  write_safetensors(path, entries, {{"format", "pt"}});
}

TEST(ArchTable, CountsAndShapes) {
  ModelConfig c = tiny("Qwen2ForCausalLM");
  auto slots = expected_tensors(c);
  EXPECT_EQ(slots.size(), tiny_tensors(c).size());
  for (const auto& [name, t] : tiny_tensors(c)) {
    auto it = std::find_if(slots.begin(), slots.end(), [&](const TensorSlot& s) { return s.name == name; });
    ASSERT_NE(it, slots.end()) << name;
    EXPECT_EQ(it->shape, t.sizes().vec()) << name;
  }
  c.tie_word_embeddings = true;
  EXPECT_EQ(expected_tensors(c).size(), slots.size() - 1);   // no lm_head
  EXPECT_EQ(slots[2].role, TensorRole::q);
  EXPECT_EQ(slots[2].layer, 0);
}

TEST(Checkpoint, SaveOpenLoadRoundTrip) {
  std::string tok = test::temp_dir("tok"), dir = test::temp_dir("ckpt") + "/out";
  test::write_file(tok + "/tokenizer_config.json", "{\"add_bos_token\": true}");
  test::write_file(tok + "/tokenizer.model", "sp-bytes");
  ModelConfig c = tiny();
  auto tensors = tiny_tensors(c);
  tensors["model.norm.weight"] = tensors["model.norm.weight"].to(torch::kBFloat16);   // stored as BF16
  save_checkpoint(dir, c, tensors, tok);

  Checkpoint ck = Checkpoint::open(dir);
  EXPECT_EQ(ck.config().hidden_size, 8);
  EXPECT_EQ(ck.names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(ck.has(name)) << name;
    EXPECT_EQ(ck.shape(name), t.sizes().vec());
    EXPECT_TRUE(torch::equal(ck.load(name, t.scalar_type()), t)) << name;
  }
  EXPECT_EQ(ck.dtype("model.norm.weight"), "BF16");
  EXPECT_EQ(ck.dtype("lm_head.weight"), "F32");
  // Conversion on load: BF16 -> F32 is exact; F32 -> F16 rounds like torch does.
  EXPECT_TRUE(torch::equal(ck.load("model.norm.weight", torch::kFloat32), tensors["model.norm.weight"].to(torch::kFloat32)));
  torch::Tensor h = ck.load("lm_head.weight", torch::kFloat16);
  EXPECT_EQ(h.scalar_type(), torch::kFloat16);
  EXPECT_TRUE(torch::equal(h, tensors["lm_head.weight"].to(torch::kFloat16)));
  EXPECT_THROW(ck.load("nope"), UsageError);

  EXPECT_EQ(test::read_file(dir + "/tokenizer.model"), "sp-bytes");
  EXPECT_TRUE(fs::exists(dir + "/tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(dir + "/tokenizer.json"));   // absent in the source: not invented
  auto st = SafetensorsFile::open(dir + "/model.safetensors");
  EXPECT_EQ(st->metadata().at("format"), "pt");          // transformers requires it
}

TEST(Checkpoint, Qwen2NeedsBiases) {
  std::string dir = test::temp_dir("ckpt");
  ModelConfig c = tiny("Qwen2ForCausalLM");
  auto tensors = tiny_tensors(c);
  save_checkpoint(dir, c, tensors);
  EXPECT_NO_THROW(Checkpoint::open(dir));
  tensors.erase("model.layers.1.self_attn.k_proj.bias");
  save_checkpoint(dir, c, tensors);
  expect_open_error(dir, dir + "/model.safetensors", "tensor 'model.layers.1.self_attn.k_proj.bias' is missing");
}

TEST(Checkpoint, ShapeMismatchAgainstConfig) {
  std::string dir = test::temp_dir("ckpt");
  ModelConfig c = tiny();
  auto tensors = tiny_tensors(c);
  tensors["model.layers.1.mlp.down_proj.weight"] = torch::randn({12, 8});   // transposed
  save_checkpoint(dir, c, tensors);
  expect_open_error(dir, dir + "/model.safetensors",
                    "tensor 'model.layers.1.mlp.down_proj.weight' has shape [12, 8] but config.json implies [8, 12]");
}

TEST(Checkpoint, TiedAndUntiedLmHead) {
  std::string dir = test::temp_dir("ckpt");
  ModelConfig c = tiny();
  auto tensors = tiny_tensors(c);
  tensors.erase("lm_head.weight");
  save_checkpoint(dir, c, tensors);
  expect_open_error(dir, dir + "/model.safetensors", "tensor 'lm_head.weight' is missing");
  c.tie_word_embeddings = true;
  save_checkpoint(dir, c, tensors);
  EXPECT_NO_THROW(Checkpoint::open(dir));
}

TEST(Checkpoint, WeightsMustBeFloat) {
  std::string dir = test::temp_dir("ckpt");
  ModelConfig c = tiny();
  auto tensors = tiny_tensors(c);
  tensors["model.norm.weight"] = torch::ones({8}, torch::kInt64);
  save_checkpoint(dir, c, tensors);
  expect_open_error(dir, dir + "/model.safetensors", "has dtype I64");
}

// Two shards and an index, as save_pretrained writes for large models.
std::string write_sharded(const ModelConfig& c, const std::map<std::string, torch::Tensor>& tensors) {
  std::string dir = test::temp_dir("shard");
  test::write_file(dir + "/config.json", c.to_json_text());
  std::map<std::string, torch::Tensor> a, b;
  std::string weight_map;
  for (const auto& [name, t] : tensors) {
    bool first = name.find("layers.1.") == std::string::npos && name != "model.norm.weight";
    (first ? a : b)[name] = t;
    weight_map += std::string(weight_map.empty() ? "" : ",") + "\"" + name + "\": \"model-0000" +
                  (first ? "1" : "2") + "-of-00002.safetensors\"";
  }
  write_shard(dir + "/model-00001-of-00002.safetensors", a);
  write_shard(dir + "/model-00002-of-00002.safetensors", b);
  test::write_file(dir + "/model.safetensors.index.json", "{\"metadata\": {}, \"weight_map\": {" + weight_map + "}}");
  return dir;
}

TEST(Checkpoint, ShardedIndex) {
  ModelConfig c = tiny();
  auto tensors = tiny_tensors(c);
  std::string dir = write_sharded(c, tensors);
  Checkpoint ck = Checkpoint::open(dir);
  EXPECT_TRUE(torch::equal(ck.load("model.layers.1.mlp.up_proj.weight"), tensors["model.layers.1.mlp.up_proj.weight"]));
  EXPECT_TRUE(torch::equal(ck.load("model.embed_tokens.weight"), tensors["model.embed_tokens.weight"]));
}

TEST(Checkpoint, MissingShard) {
  std::string dir = write_sharded(tiny(), tiny_tensors(tiny()));
  fs::remove(dir + "/model-00002-of-00002.safetensors");
  expect_open_error(dir, dir + "/model-00002-of-00002.safetensors", "shard named in model.safetensors.index.json is missing");
}

TEST(Checkpoint, TensorListedInIndexButAbsentFromShard) {
  ModelConfig c = tiny();
  auto tensors = tiny_tensors(c);
  std::string dir = write_sharded(c, tensors);
  tensors.erase("model.norm.weight");
  std::map<std::string, torch::Tensor> b;
  for (const auto& [name, t] : tensors)
    if (name.find("layers.1.") != std::string::npos) b[name] = t;
  write_shard(dir + "/model-00002-of-00002.safetensors", b);
  expect_open_error(dir, dir + "/model-00002-of-00002.safetensors", "tensor 'model.norm.weight' listed in model.safetensors.index.json is absent");
}

TEST(Checkpoint, IndexCannotPointOutsideTheDirectory) {
  std::string dir = write_sharded(tiny(), tiny_tensors(tiny()));
  test::write_file(dir + "/model.safetensors.index.json", R"({"weight_map": {"model.norm.weight": "../x.safetensors"}})");
  expect_open_error(dir, dir + "/model.safetensors.index.json", "not a file in the checkpoint directory");
}

TEST(Checkpoint, PickleRefused) {
  std::string dir = test::temp_dir("ckpt");
  test::write_file(dir + "/config.json", tiny().to_json_text());
  test::write_file(dir + "/pytorch_model.bin", "not opened");
  expect_open_error(dir, dir + "/pytorch_model.bin", "unpickling can execute arbitrary code");
  fs::remove(dir + "/pytorch_model.bin");
  expect_open_error(dir, dir, "no model.safetensors");
}

TEST(Checkpoint, ConfigProblems) {
  std::string dir = test::temp_dir("ckpt");
  save_checkpoint(dir, tiny(), tiny_tensors(tiny()));
  fs::remove(dir + "/config.json");
  expect_open_error(dir, dir + "/config.json", "missing");
  ModelConfig gpt = tiny();
  gpt.architecture = "GPT2LMHeadModel";
  test::write_file(dir + "/config.json", gpt.to_json_text());
  expect_open_error(dir, dir + "/config.json", "architecture 'GPT2LMHeadModel' is not supported");
  expect_open_error(dir + "/absent", dir + "/absent", "not a directory");
}

}  // namespace
}  // namespace qlab
