// The tensors a Hugging Face LLaMA-family checkpoint must hold, by name and
// shape, computed from its config: the one table that checkpoint validation,
// Model::load and `qlab inspect` share. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/config.h"

namespace qlab {

enum class TensorRole {
  embed, input_norm, q, k, v, o, q_bias, k_bias, v_bias,
  post_attn_norm, gate, up, down, final_norm, lm_head
};

struct TensorSlot {
  std::string name;              // e.g. "model.layers.3.self_attn.q_proj.weight"
  std::vector<int64_t> shape;    // linear weights are [out, in]
  int64_t layer = -1;            // -1 for embed, final_norm, lm_head
  TensorRole role;
};

// In checkpoint order: embed, then per layer input_norm, q, k, v, (q/k/v
// biases when config.attention_bias), o, post_attn_norm, gate, up, down; then
// final_norm and lm_head (absent when tie_word_embeddings).
std::vector<TensorSlot> expected_tensors(const ModelConfig& config);

// "embed", "q", "post_attn_norm", ... as in the enum.
const char* role_name(TensorRole role);
// The group a role belongs to, for summaries: "embed", "attention", "mlp",
// "norm" or "lm_head".
const char* role_group(TensorRole role);

}  // namespace qlab
