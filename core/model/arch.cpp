#include "core/model/arch.h"

namespace qlab {

std::vector<TensorSlot> expected_tensors(const ModelConfig& c) {
  const int64_t H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  const int64_t q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
  using R = TensorRole;
  std::vector<TensorSlot> t;
  t.push_back({"model.embed_tokens.weight", {V, H}, -1, R::embed});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back({p + "input_layernorm.weight", {H}, i, R::input_norm});
    t.push_back({p + "self_attn.q_proj.weight", {q_out, H}, i, R::q});
    t.push_back({p + "self_attn.k_proj.weight", {kv_out, H}, i, R::k});
    t.push_back({p + "self_attn.v_proj.weight", {kv_out, H}, i, R::v});
    if (c.attention_bias) {
      t.push_back({p + "self_attn.q_proj.bias", {q_out}, i, R::q_bias});
      t.push_back({p + "self_attn.k_proj.bias", {kv_out}, i, R::k_bias});
      t.push_back({p + "self_attn.v_proj.bias", {kv_out}, i, R::v_bias});
    }
    t.push_back({p + "self_attn.o_proj.weight", {H, q_out}, i, R::o});
    t.push_back({p + "post_attention_layernorm.weight", {H}, i, R::post_attn_norm});
    t.push_back({p + "mlp.gate_proj.weight", {I, H}, i, R::gate});
    t.push_back({p + "mlp.up_proj.weight", {I, H}, i, R::up});
    t.push_back({p + "mlp.down_proj.weight", {H, I}, i, R::down});
  }
  t.push_back({"model.norm.weight", {H}, -1, R::final_norm});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {V, H}, -1, R::lm_head});
  return t;
}

const char* role_name(TensorRole role) {
  switch (role) {
    case TensorRole::embed: return "embed";
    case TensorRole::input_norm: return "input_norm";
    case TensorRole::q: return "q";
    case TensorRole::k: return "k";
    case TensorRole::v: return "v";
    case TensorRole::o: return "o";
    case TensorRole::q_bias: return "q_bias";
    case TensorRole::k_bias: return "k_bias";
    case TensorRole::v_bias: return "v_bias";
    case TensorRole::post_attn_norm: return "post_attn_norm";
    case TensorRole::gate: return "gate";
    case TensorRole::up: return "up";
    case TensorRole::down: return "down";
    case TensorRole::final_norm: return "final_norm";
    case TensorRole::lm_head: return "lm_head";
  }
  return "?";
}

const char* role_group(TensorRole role) {
  switch (role) {
    case TensorRole::embed: return "embed";
    case TensorRole::input_norm:
    case TensorRole::post_attn_norm:
    case TensorRole::final_norm: return "norm";
    case TensorRole::gate:
    case TensorRole::up:
    case TensorRole::down: return "mlp";
    case TensorRole::lm_head: return "lm_head";
    default: return "attention";
  }
}

}  // namespace qlab
