// Karpathy's llama2.c checkpoint format, converted to a Hugging Face Llama
// checkpoint (the one real trained model the tests can run: stories260K).
//
// llama2.c file: seven little-endian int32 (dim, hidden_dim, n_layers,
// n_heads, n_kv_heads, vocab_size, seq_len; vocab_size < 0 means a separate
// classifier follows), then float32 arrays: embedding [vocab, dim], attention
// norms [L, dim], wq [L, dim, dim], wk [L, kv_dim, dim], wv [L, kv_dim, dim],
// wo [L, dim, dim], FFN norms [L, dim], w1 [L, hidden, dim], w2 [L, dim,
// hidden], w3 [L, hidden, dim], final norm [dim], two unused RoPE tables
// [seq_len, head_dim/2], then the classifier [vocab, dim] when unshared.
//
// llama2.c's RoPE rotates adjacent pairs (2i, 2i+1) of each head; Hugging
// Face's rotates halves (i, i + head_dim/2). Permuting the rows of wq and wk
// within each head turns one into the other: q.k scores are unchanged.
#pragma once
#include "core/tensor.h"

#include <map>
#include <string>

#include "core/model/config.h"

namespace qlab {

struct Llama2cModel {
  ModelConfig config;                              // LlamaForCausalLM, float32
  std::map<std::string, torch::Tensor> tensors;    // HF names, rotate-half order
};

// Validates the header against the file length; throws UsageError naming the file.
Llama2cModel read_llama2c(const std::string& path);

// w: [n_heads * head_dim, in], rows of each head in interleaved-pair order;
// returns rows [0, 2, 4, ..., 1, 3, 5, ...] of each head (rotate-half order).
torch::Tensor interleaved_to_rotate_half(const torch::Tensor& w, int64_t n_heads);

// Writes out_dir as a Hugging Face checkpoint: config.json, model.safetensors
// and, when tokenizer_model is given, tokenizer.model + tokenizer_config.json.
void convert_llama2c(const std::string& path, const std::string& tokenizer_model, const std::string& out_dir);

}  // namespace qlab
