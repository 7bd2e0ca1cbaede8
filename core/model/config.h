// The architecture hyper-parameters of a LLaMA-family checkpoint, read from
// Hugging Face's config.json (LlamaForCausalLM, Qwen2ForCausalLM,
// MistralForCausalLM). Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qlab {

struct RopeConfig {
  double theta = 10000.0;
  std::string type = "default";        // "default" or "llama3"
  double factor = 1.0;                 // llama3 scaling
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position = 8192;
};

struct ModelConfig {
  std::string architecture;            // e.g. "LlamaForCausalLM"
  std::string model_type;              // e.g. "llama", "qwen2", "mistral"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;         // q/k/v biases (Qwen2)
  int64_t sliding_window = 0;          // 0: full attention
  std::vector<int64_t> bos_token_ids;
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype;             // as stored, e.g. "bfloat16"

  // Reads and validates config.json; throws UsageError naming the file.
  // Understands both rope_theta/rope_scaling and the newer rope_parameters.
  static ModelConfig from_file(const std::string& path);
  static ModelConfig from_json_text(const std::string& text, const std::string& path_for_errors);
  std::string to_json_text() const;    // a config.json transformers can load
};

}  // namespace qlab
