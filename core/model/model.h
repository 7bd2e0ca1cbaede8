// A decoder-only transformer of the LLaMA family, held as plain tensors so
// that methods can rewrite weights (rotation fusion, GPTQ) and attach online
// operations (Hadamards, fake quantizers, calibration capture) by name.
//
// Forward (per layer, row vectors):
//   a = rmsnorm(h) * input_norm;  q,k,v = a Wq^T (+bq), ...;  rope(q,k)
//   q,k <- q_rope_ops / k_rope_ops;  v <- v_ops;  attn (causal, GQA, sliding window)
//   h = h + o_proj(attn)
//   m = rmsnorm(h) * post_attn_norm;  h = h + down(silu(gate(m)) * up(m))
// then logits = lm_head(rmsnorm(h) * final_norm).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/model/config.h"

namespace qlab {

// An operation applied to a tensor at run time; named so that a model can say
// what is attached where (qlab inspect, the quantization description).
struct OnlineOp {
  std::string name;                                          // e.g. "hadamard", "act_quant"
  std::function<torch::Tensor(const torch::Tensor&)> fn;
};
torch::Tensor apply_ops(const std::vector<OnlineOp>& ops, torch::Tensor x);

// y = ops(x) W^T + b. Weight [out, in]; bias [out] or undefined.
struct Linear {
  torch::Tensor weight;
  torch::Tensor bias;
  std::vector<OnlineOp> input_ops;                           // applied to x, in order
  torch::Tensor forward(const torch::Tensor& x) const;
};

struct Layer {
  torch::Tensor input_norm, post_attn_norm;                  // RMSNorm scales [hidden]
  Linear q, k, v, o, gate, up, down;
  std::vector<OnlineOp> q_rope_ops, k_rope_ops;              // on [B, heads, T, head_dim] after RoPE
  std::vector<OnlineOp> v_ops;                               // on [B, kv_heads, T, head_dim]
  void to(torch::Device device, torch::ScalarType dtype);
};

// Keys and values of earlier positions, per layer: [B, kv_heads, T, head_dim].
struct KVCache {
  std::vector<torch::Tensor> k, v;
  int64_t length() const { return k.empty() || !k[0].defined() ? 0 : k[0].size(2); }
};

class Model {
 public:
  ModelConfig config;
  torch::Tensor embed;                                       // [vocab, hidden]
  std::vector<Layer> layers;
  torch::Tensor final_norm;                                  // [hidden]
  Linear lm_head;                                            // shares embed's storage when tied
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;

  // Loads a Hugging Face checkpoint directory (config.json + safetensors).
  // Throws UsageError naming the file and the problem.
  static Model load(const std::string& dir, torch::Device device, torch::ScalarType dtype);
  // Keeps the layers on `storage` (usually the CPU) and moves only one layer at
  // a time to `device` during forward / layer-wise processing.
  static Model load_offloaded(const std::string& dir, torch::Device device, torch::ScalarType dtype);

  // ids [B, T] int64; attention_mask [B, T] (1 = real token, 0 = padding), may be
  // undefined (no padding); cache extended in place when given.
  // Returns logits [B, T, vocab] in float32.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                        KVCache* cache = nullptr);

  // The same computation, one stage at a time, for layer-wise methods.
  struct Positions {
    torch::Tensor position_ids;     // [B, T]
    torch::Tensor mask;             // additive [B, 1, T, T_total] or undefined (pure causal)
  };
  torch::Tensor embed_tokens(const torch::Tensor& ids) const;
  Positions positions(const torch::Tensor& attention_mask, int64_t seq_len, int64_t past_len) const;
  torch::Tensor layer_forward(size_t i, const torch::Tensor& hidden, const Positions& pos,
                              KVCache* cache = nullptr);
  torch::Tensor head(const torch::Tensor& hidden);           // final norm + lm_head, float32 logits

  // Named access: "layers.<i>.<q|k|v|o|gate|up|down>", "lm_head".
  Linear& linear(const std::string& name);
  std::vector<std::string> linear_names() const;             // decoder linears, then lm_head

  int64_t num_parameters() const;
  bool offloaded() const { return offloaded_; }
  void to(torch::Device device, torch::ScalarType dtype);

 private:
  bool offloaded_ = false;
};

}  // namespace qlab
