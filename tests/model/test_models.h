// Small random-weight models for the model tests: one per architecture variant
// the runtime must handle (LLaMA with grouped-query attention, Qwen2 with q/k/v
// biases and tied embeddings, Mistral with a sliding window, LLaMA 3 rope
// scaling). Weights are scaled so that activations stay O(1) and the logits
// are far from uniform, which makes comparisons meaningful.
#pragma once
#include <string>

#include "core/model/model.h"

namespace qlab::test {

// kind: "llama_gqa", "qwen2", "mistral" (window 5), "llama3".
// hidden 64, 4 heads of 16, 2 kv heads, intermediate 96, vocab 100.
ModelConfig tiny_config(const std::string& kind, int64_t num_layers = 2);

// Random weights for config on the CPU in float32, reproducible from seed.
Model random_model(const ModelConfig& config, uint64_t seed = 1);

// Writes model as a Hugging Face checkpoint (config.json + model.safetensors) in dir.
void write_checkpoint(const Model& model, const std::string& dir);

}  // namespace qlab::test
