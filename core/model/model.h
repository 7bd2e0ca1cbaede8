// A decoder-only transformer of the LLaMA family (LLaMA 2/3, Qwen2, Mistral),
// held as plain tensors so that methods can rewrite weights (rotation fusion,
// GPTQ) and attach online operations (Hadamards, fake quantizers, calibration
// capture) by name. It computes what Hugging Face transformers computes for
// LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM (eager attention).
//
// Forward (per layer, row vectors, every tensor in the model's dtype):
//   rmsnorm(x, w) = w * cast(x32 * rsqrt(mean(x32^2) + eps))   (x32: x in float32)
//   a = rmsnorm(h, input_norm);  q,k,v = a Wq^T (+bq), a Wk^T (+bk), a Wv^T (+bv)
//   q,k <- rope(q,k) (rotate-half, cos/sin computed in float32 from position ids)
//   q <- q_rope_ops(q);  k <- k_rope_ops(k);  v <- v_ops(v);  k,v appended to the cache
//   attn = softmax32(q k^T / sqrt(head_dim), masked) v     (kv heads shared by
//          num_heads / num_kv_heads query heads each)
//   h = h + o_proj(attn)
//   m = rmsnorm(h, post_attn_norm);  h = h + down(silu(gate(m)) * up(m))
// then logits = float32(lm_head(rmsnorm(h, final_norm))).
// Every Linear applies its input_ops to x before the matmul.
//
// Masking: query at cache index i may see key j when j <= i, j is not padding,
// and (sliding window W > 0) i - j < W: a key at distance >= W is hidden, the
// convention of transformers' sliding-window masks. Distances count cache
// indices (padding included), as in transformers. Position ids count real
// tokens only: cumsum(attention_mask) - 1, as transformers' generate does.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
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
  std::vector<OnlineOp> q_rope_ops;                          // on [B, heads, T, head_dim] after RoPE
  std::vector<OnlineOp> k_rope_ops;                          // on [B, kv_heads, T, head_dim] after RoPE, before caching
  std::vector<OnlineOp> v_ops;                               // on [B, kv_heads, T, head_dim], before caching
  void to(torch::Device device, torch::ScalarType dtype);
};

// Keys and values of earlier positions, per layer. k[i], v[i] are buffers
// [B, kv_heads, capacity, head_dim] of which the first lengths[i] positions are
// filled, so that decoding appends without copying the whole cache each step.
struct KVCache {
  std::vector<torch::Tensor> k, v;
  std::vector<int64_t> lengths;
  int64_t capacity_hint = 0;                                 // first allocation size (e.g. prompt + new tokens)

  KVCache() = default;
  explicit KVCache(int64_t capacity) : capacity_hint(capacity) {}
  int64_t length() const { return lengths.empty() ? 0 : lengths[0]; }
  // Appends layer `layer`'s new keys/values [B, kv_heads, T, head_dim]; returns
  // views of all keys/values held for that layer.
  std::pair<torch::Tensor, torch::Tensor> append(size_t layer, const torch::Tensor& k_new,
                                                 const torch::Tensor& v_new);
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
  // Fused scaled_dot_product_attention where LibTorch has it (core/torch_compat.h);
  // false: the plain math path (what transformers' eager attention does).
  bool fused_attention;

  Model();

  // Loads a Hugging Face checkpoint directory (config.json + safetensors).
  // Throws UsageError naming the file and the problem.
  static Model load(const std::string& dir, torch::Device device, torch::ScalarType dtype);
  // Keeps the layers on the CPU and moves one layer at a time to `device` for
  // its layer_forward (a temporary copy: the CPU weights stay as they are).
  // Embedding, final norm and lm_head live on `device`.
  static Model load_offloaded(const std::string& dir, torch::Device device, torch::ScalarType dtype);
  // The weights under their Hugging Face names (core/model/arch.h), for
  // save_checkpoint: the inverse of load. Handles, not copies.
  std::map<std::string, torch::Tensor> checkpoint_tensors() const;
  // Switches a loaded model to that mode: layers to the CPU, the rest to `device`.
  void offload(torch::Device device);

  // ids [B, T] int64; attention_mask [B, past + T] (1 = real token, 0 =
  // padding; covers the cached positions too, as in transformers), or
  // undefined (no padding). The cache is extended in place when given.
  // Returns logits [B, T, vocab] in float32.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                        KVCache* cache = nullptr);
  // The same without the head: final hidden states [B, T, hidden] (before the final norm).
  torch::Tensor hidden_states(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                              KVCache* cache = nullptr);

  // The same computation, one stage at a time, for layer-wise methods.
  struct Positions {
    torch::Tensor position_ids;     // [B or 1, T] int64
    torch::Tensor cos, sin;         // [B or 1, T, head_dim] in the model's dtype
    torch::Tensor mask;             // bool [B or 1, 1, T, past + T], true = may attend;
                                    // undefined: plain causal (the last query sees every key)
  };
  torch::Tensor embed_tokens(const torch::Tensor& ids) const;
  Positions positions(const torch::Tensor& attention_mask, int64_t seq_len, int64_t past_len) const;
  torch::Tensor layer_forward(size_t i, const torch::Tensor& hidden, const Positions& pos,
                              KVCache* cache = nullptr);
  torch::Tensor head(const torch::Tensor& hidden);           // final norm + lm_head, float32 logits

  // Named access: "layers.<i>.<q|k|v|o|gate|up|down>", "lm_head".
  Linear& linear(const std::string& name);
  std::vector<std::string> linear_names() const;             // decoder linears, then lm_head

  int64_t num_parameters() const;                            // tied weights counted once
  bool offloaded() const { return offloaded_; }
  void to(torch::Device device, torch::ScalarType dtype);

 private:
  bool offloaded_ = false;
};

// rmsnorm as transformers computes it (see the top of this file).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

}  // namespace qlab
