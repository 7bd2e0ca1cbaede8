#include "core/model/init.h"

#include <ATen/CPUGeneratorImpl.h>

namespace qlab {

Model init_model(const ModelConfig& c, uint64_t seed, double std) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  auto matrix = [&](int64_t out, int64_t in) { return torch::randn({out, in}, gen) * std; };
  auto ones = [&] { return torch::ones({c.hidden_size}); };
  auto bias = [&](int64_t n) { return c.attention_bias ? torch::zeros({n}) : torch::Tensor(); };
  const int64_t hd = c.hidden_size, q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
  Model m;
  m.config = c;
  m.embed.weight = matrix(c.vocab_size, hd);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    Layer l;
    l.input_norm = ones();
    l.post_attn_norm = ones();
    l.q = {matrix(q_out, hd), bias(q_out), {}};
    l.k = {matrix(kv_out, hd), bias(kv_out), {}};
    l.v = {matrix(kv_out, hd), bias(kv_out), {}};
    l.o = {matrix(hd, q_out), {}, {}};
    l.gate = {matrix(c.intermediate_size, hd), {}, {}};
    l.up = {matrix(c.intermediate_size, hd), {}, {}};
    l.down = {matrix(hd, c.intermediate_size), {}, {}};
    m.layers.push_back(std::move(l));
  }
  m.final_norm = ones();
  m.lm_head.weight = c.tie_word_embeddings ? m.embed.weight : matrix(c.vocab_size, hd);
  return m;
}

}  // namespace qlab
