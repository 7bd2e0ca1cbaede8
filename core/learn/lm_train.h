// Training a small LLaMA-architecture language model: pre-training from a
// plain-text corpus and supervised fine-tuning on chat conversations (or a
// mix), written out as a Hugging Face checkpoint directory that Model::load,
// Model::load_offloaded, qlab score / generate and studies read, and that
// transformers loads (config.json, model.safetensors, tokenizer files,
// generation_config.json).
//
// The loop is core/learn/train.h's (schedule, progress lines, divergence stop,
// checkpoint/resume, Ctrl-C) driving AdamW (core/learn/adamw.h); batches come
// from core/learn/lm_data.h as a function of (seed, step). Loss: mean
// cross-entropy over the trained targets of the batch.
//
// Precision: float32 on the CPU (deterministic for a seed: two runs give the
// same weights bit for bit at one thread count); on CUDA the model's weights
// and activations are bfloat16 with float32 AdamW masters (no autocast: the
// model computes in its own dtype everywhere, RMSNorm and softmax in float32
// as in inference). The checkpoint is written in float32 either way.
//
// Training state (weights, AdamW state, losses, the step; the data order
// needs no state) is kept in <out>/train_state.safetensors every
// checkpoint_every steps and on Ctrl-C, written atomically; a rerun with the
// same settings and data resumes from it and reaches the weights of an
// uninterrupted run. The state is removed once the checkpoint is written.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/learn/lm_data.h"
#include "core/model/config.h"
#include "core/model/model.h"

namespace qlab {

struct LmTrainOptions {
  // The model: fine-tune the checkpoint in init_dir, or a new model with
  // `config` (vocab_size 0: the tokenizer's).
  std::string init_dir;
  ModelConfig config;
  std::string tokenizer_dir;          // "" : init_dir's tokenizer
  // Data: at least one of them.
  std::string text_path;              // UTF-8 plain text
  std::string chat_path;              // JSON lines of {"messages": [...]}
  double chat_fraction = 0.5;         // rows from chat_path when both are given
  bool all_tokens = false;            // chat: train on every token, not only the assistant's
  // Optimisation.
  int64_t steps = 200, batch = 8, seq_len = 128;
  double lr = 3e-3, min_lr = 3e-4;
  int64_t warmup = 20;
  double weight_decay = 0.1, clip = 1.0;
  uint64_t seed = 0;
  std::string device = "cpu";         // "cpu", "cuda", "cuda:1"
  int64_t checkpoint_every = 50;
  std::string out_dir;
  std::function<bool()> should_stop;  // default: Ctrl-C / SIGTERM seen
};

struct LmTrainResult {
  std::vector<double> losses;         // every step, resumed ones included
  int64_t resumed_at = 0;
  int64_t parameters = 0;
  double seconds = 0;                 // of this call's steps
  double tokens_per_second = 0;
  // Loss on one batch never trained on (LmData::batch_at(steps)), before the
  // first step and after the last.
  double held_loss_before = 0, held_loss_after = 0;
};

// Throws UsageError (one line naming the file or key) for bad input: empty or
// non-UTF-8 corpus, a malformed conversation line (file:line), a config that
// does not fit the memory, a corrupted training state (its path);
// TrainingStopped after Ctrl-C (the state kept).
LmTrainResult train_language_model(const LmTrainOptions& options);

// A new model's architecture from `spec`: a JSON object or "key=value" pairs
// (comma- or space-separated) in config.json's names (hidden_size,
// intermediate_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, tie_word_embeddings, rope_theta, ...), over the
// defaults LlamaForCausalLM, hidden 128, intermediate 352, 4 layers, 4 heads (kv heads = heads),
// tied embeddings, rms_norm_eps 1e-5, max_position_embeddings = seq_len;
// vocab_size <= 0 (and none in spec): 0 in the result, for the tokenizer to fill.
// Errors name "--config" and the key.
// Mean cross-entropy of the model over the batch's trained targets.
torch::Tensor batch_loss(const Model& model, const Batch& batch, torch::Device device);

ModelConfig model_config_from_spec(const std::string& spec, int64_t vocab_size, int64_t seq_len);

}  // namespace qlab
