#include "test_models.h"

#include <cmath>
#include <stdexcept>

#include "core/model/checkpoint.h"
#include "core/model/init.h"

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
  // The shapes and ties from core's initialiser (unit normal), rescaled by
  // fan-in; norms and biases moved off 1 and 0 so that they matter.
  Model m = init_model(c, seed, 1.0);
  torch::manual_seed(seed);
  auto fan_in = [](Linear& l, double gain) { l.weight.mul_(gain / std::sqrt(double(l.weight.size(1)))); };
  auto perturb = [](torch::Tensor& t, double scale) {
    if (t.defined()) t.add_(scale * torch::randn(t.sizes()));
  };
  for (Layer& l : m.layers) {
    perturb(l.input_norm, 0.2);
    perturb(l.post_attn_norm, 0.2);
    // Queries and keys larger than 1/sqrt(in) so that attention is not uniform.
    fan_in(l.q, 2.0);
    fan_in(l.k, 2.0);
    for (Linear* x : {&l.v, &l.o, &l.gate, &l.up, &l.down}) fan_in(*x, 1.0);
    for (Linear* x : {&l.q, &l.k, &l.v}) perturb(x->bias, 0.5);
  }
  perturb(m.final_norm, 0.2);
  if (!c.tie_word_embeddings) fan_in(m.lm_head, 3.0);
  return m;
}

void write_checkpoint(const Model& model, const std::string& dir) {
  save_checkpoint(dir, model.config, model.checkpoint_tensors());
}

}  // namespace qlab::test
