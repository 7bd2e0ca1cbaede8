#include "test_models.h"

#include <cmath>
#include <stdexcept>

#include "core/model/checkpoint.h"

namespace qlab::test {

ModelConfig tiny_config(const std::string& kind, int64_t num_layers) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = 100;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = num_layers;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 16;
  c.max_position = 256;
  c.rms_norm_eps = 1e-6;
  c.rope.theta = 10000.0;
  c.torch_dtype = "float32";
  c.bos_token_ids = {1};
  c.eos_token_ids = {2};
  if (kind == "llama_gqa") return c;
  if (kind == "qwen2") {
    c.architecture = "Qwen2ForCausalLM";
    c.model_type = "qwen2";
    c.attention_bias = true;
    c.tie_word_embeddings = true;
    c.rope.theta = 1000000.0;
    return c;
  }
  if (kind == "mistral") {
    c.architecture = "MistralForCausalLM";
    c.model_type = "mistral";
    c.sliding_window = 5;
    c.rms_norm_eps = 1e-5;
    return c;
  }
  if (kind == "llama3") {
    // original_max_position 64 puts the 16-dim head's frequencies in all three
    // bands of the rescaling (kept, blended, divided by factor).
    c.rope.theta = 500000.0;
    c.rope.type = "llama3";
    c.rope.factor = 8.0;
    c.rope.low_freq_factor = 1.0;
    c.rope.high_freq_factor = 4.0;
    c.rope.original_max_position = 64;
    return c;
  }
  throw std::invalid_argument("tiny_config: unknown kind " + kind);
}

Model random_model(const ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  auto matrix = [](int64_t out, int64_t in) { return torch::randn({out, in}) / std::sqrt(double(in)); };
  auto norm = [&] { return 1.0 + 0.2 * torch::randn({c.hidden_size}); };
  auto bias = [&](int64_t n) { return c.attention_bias ? 0.5 * torch::randn({n}) : torch::Tensor(); };
  const int64_t hd = c.hidden_size, q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
  Model m;
  m.config = c;
  m.embed.weight = torch::randn({c.vocab_size, hd});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    Layer l;
    l.input_norm = norm();
    l.post_attn_norm = norm();
    // Queries and keys larger than 1/sqrt(in) so that attention is not uniform.
    l.q = {2.0 * matrix(q_out, hd), bias(q_out), {}};
    l.k = {2.0 * matrix(kv_out, hd), bias(kv_out), {}};
    l.v = {matrix(kv_out, hd), bias(kv_out), {}};
    l.o = {matrix(hd, q_out), {}, {}};
    l.gate = {matrix(c.intermediate_size, hd), {}, {}};
    l.up = {matrix(c.intermediate_size, hd), {}, {}};
    l.down = {matrix(hd, c.intermediate_size), {}, {}};
    m.layers.push_back(std::move(l));
  }
  m.final_norm = norm();
  m.lm_head.weight = c.tie_word_embeddings ? m.embed.weight : 3.0 * matrix(c.vocab_size, hd);
  return m;
}

void write_checkpoint(const Model& model, const std::string& dir) {
  save_checkpoint(dir, model.config, model.checkpoint_tensors());
}

}  // namespace qlab::test
