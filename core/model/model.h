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
//   h = attn_skip_ops(h) + o_proj(attn)
//   m = rmsnorm(h, post_attn_norm);  h = mlp_skip_ops(h) + down(silu(gate(m)) * up(m))
// then logits = float32(lm_head(rmsnorm(h, final_norm))).
// Every Linear applies its input_ops to x before the matmul, with the weight
// its weight_ops make of the frozen base (one seam for every matmul, as
// llama.cpp's build_lora_mm); the embedding output passes embed_out_ops.
//
// Masking: query at cache index i may see key j when j <= i, j is not padding,
// and (sliding window W > 0) i - j < W: a key at distance >= W is hidden, the
// convention of transformers' sliding-window masks. Distances count cache
// indices (padding included), as in transformers. Position ids count real
// tokens only: cumsum(attention_mask) - 1, as transformers' generate does.
#pragma once
#include "core/tensor.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/model/config.h"

namespace qlab {

// An operation applied to an activation at run time (an online Hadamard, a
// fake quantizer, a calibration capture), kept as a typed record so that it can
// be saved and rebuilt: `kind` and `args` say what it is (core/quant/online.h
// builds every saved kind from them), `tensors` carry its payload (learned
// matrices), `tag` says who attached it so that it can be detached again.
struct OnlineOp {
  std::string kind;                                          // e.g. "hadamard", "fake_quant"
  std::string tag;                                           // e.g. "quant", "quarot"
  nlohmann::json args = nlohmann::json::object();
  std::map<std::string, torch::Tensor> tensors;
  std::function<torch::Tensor(const torch::Tensor&)> fn;
  bool transient = false;                                    // calibration captures: never saved
  std::string describe() const;                              // "hadamard(H_172 x H_64)"
};
torch::Tensor apply_ops(const std::vector<OnlineOp>& ops, torch::Tensor x);
// Whether two op lists are the same operations: the same kind, tag and
// arguments on the same tensors, in order. A saved op is made from exactly
// these (core/quant/online.h), so such lists give one result on one input
// (linears that read one activation apply them once; GPTQ shares one Hessian);
// a transient op (a calibration capture) is never the same, since it must see
// every list it sits in.
bool same_ops(const std::vector<OnlineOp>& a, const std::vector<OnlineOp>& b);
// An op that is never saved (a calibration capture, a probe in a test).
OnlineOp transient_op(std::string kind, std::function<torch::Tensor(const torch::Tensor&)> fn);
// A transient op that passes x through and shows it to `see` (calibration statistics).
OnlineOp capture_op(std::function<void(const torch::Tensor&)> see);

// A weight and its bias (bias undefined when the linear has none).
struct Affine {
  torch::Tensor weight, bias;
};

// A transform attached to a weight: effective = fn(base), differentiable in
// `tensors` (learned rotations and scales require grad; the base never does).
// fn computes in the dtype it is given (float64 when baking) and returns it.
struct WeightOp {
  std::string kind;                                          // "rotate_in", "rotate_out", "fake_quant", ...
  std::string tag;
  std::vector<torch::Tensor> tensors;
  std::function<Affine(const Affine&, torch::ScalarType compute)> fn;
};

// y = input_ops(x) W_eff^T + b_eff with (W_eff, b_eff) = weight_ops(weight, bias).
// Weight [out, in]; bias [out] or undefined. The embedding is held as a Linear
// too ([vocab, hidden], looked up rather than multiplied), so that one kind of
// object carries every matrix a method transforms.
struct Linear {
  torch::Tensor weight;
  torch::Tensor bias;
  std::vector<WeightOp> weight_ops;                          // applied to (weight, bias), in order
  std::vector<OnlineOp> input_ops;                           // applied to x, in order
  // Dtype the weight ops compute in while training (set by a learned method;
  // bake always uses float64).
  torch::ScalarType transform_dtype = torch::kFloat32;
  Affine effective() const;                                  // in the weight's dtype
  torch::Tensor forward(const torch::Tensor& x) const;
  // Folds the weight ops into weight and bias (float64, no grad) and drops them.
  void bake();
};

struct Layer {
  torch::Tensor input_norm, post_attn_norm;                  // RMSNorm scales [hidden]
  Linear q, k, v, o, gate, up, down;
  std::vector<OnlineOp> q_rope_ops;                          // on [B, heads, T, head_dim] after RoPE
  std::vector<OnlineOp> k_rope_ops;                          // on [B, kv_heads, T, head_dim] after RoPE, before caching
  std::vector<OnlineOp> v_ops;                               // on [B, kv_heads, T, head_dim], before caching
  // Residual hooks: on the skip path [B, T, hidden] just before attention's
  // (mlp's) output is added, i.e. h = attn_skip_ops(h) + o(attn). A change of
  // the residual basis between sub-blocks that cannot be fused lives here.
  std::vector<OnlineOp> attn_skip_ops, mlp_skip_ops;
  // The layer's own op lists under their site suffix ("q.in", "q_rope", ...):
  // what Model::op_sites names and the per-layer recomputation searches.
  std::vector<std::pair<std::string, std::vector<OnlineOp>*>> op_lists();
  void to(torch::Device device, torch::ScalarType dtype);
};

// The seven linears of a layer, the one list every loop over them uses, with
// how each touches the residual stream: q, k, v, gate, up read it (their
// input columns live in its basis), o and down write into it (their output rows do).
struct LinearSlot {
  const char* name;                                          // "q", ..., "down"
  Linear Layer::*member;
  bool writes_residual;                                      // false: reads it
};
const std::vector<LinearSlot>& layer_linears();

// One list of online operations and where it sits ("layers.3.down.in",
// "layers.3.q_rope", "layers.3.attn_skip", "embed.out", "lm_head.in").
struct OpSite {
  std::string name;
  std::vector<OnlineOp>* ops;
  int64_t width;      // the last dimension of what its ops see (hidden, a linear's input, head_dim)
};

// Keys and values of earlier positions, per layer. k[i], v[i] are buffers
// [B, kv_heads, capacity, head_dim] of which the first lengths[i] positions are
// filled, so that decoding appends without copying the whole cache each step.
//
// Fixed-shape mode (write_at defined; core/model/decode.h): a decode step
// that is replayed as a CUDA graph must see the same shapes and addresses
// every time, so new keys are written at the cache indices held in the device
// tensor write_at, append returns the whole buffers (the step's mask hides the
// positions not written yet) and lengths stay where fix_shapes found them.
struct KVCache {
  std::vector<torch::Tensor> k, v;
  std::vector<int64_t> lengths;
  int64_t capacity_hint = 0;                                 // first allocation size (e.g. prompt + new tokens)
  torch::Tensor write_at;                                    // int64 [T] on the device, fixed-shape mode only

  KVCache() = default;
  explicit KVCache(int64_t capacity) : capacity_hint(capacity) {}
  int64_t length() const { return lengths.empty() ? 0 : lengths[0]; }
  // Appends layer `layer`'s new keys/values [B, kv_heads, T, head_dim]; returns
  // views of all keys/values held for that layer.
  std::pair<torch::Tensor, torch::Tensor> append(size_t layer, const torch::Tensor& k_new,
                                                 const torch::Tensor& v_new);
  // Keeps only the batch rows `rows` (int64 indices, in that order) of every layer.
  void keep_rows(const torch::Tensor& rows);
  // Enters fixed-shape mode: zeroes every buffer past its filled length (a
  // masked position's zero probability then multiplies a finite value, never
  // NaN left in reused memory) and writes where `write_at` says from now on.
  void fix_shapes(const torch::Tensor& write_at);
};

class Model {
 public:
  ModelConfig config;
  Linear embed;                                              // [vocab, hidden]; looked up
  std::vector<OnlineOp> embed_out_ops;                       // residual hook on the embedding output
  std::vector<Layer> layers;
  torch::Tensor final_norm;                                  // [hidden]
  Linear lm_head;                                            // shares embed's storage when tied
  // Recompute each decoder layer in the backward pass instead of keeping its
  // activations (only when grad is enabled): what lets learned methods train
  // at real sizes. Gradients are those of the plain forward.
  bool checkpoint_layers = false;
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
                        KVCache* cache = nullptr) const;
  // The same without the head: final hidden states [B, T, hidden] (before the final norm).
  torch::Tensor hidden_states(const torch::Tensor& ids, const torch::Tensor& attention_mask = {},
                              KVCache* cache = nullptr) const;

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
                              KVCache* cache = nullptr) const;
  torch::Tensor head(const torch::Tensor& hidden) const;     // final norm + lm_head, float32 logits
  // The same logits in the model's dtype, as lm_head's GEMM gives them (head
  // is this in float32): for a consumer that reads each once (the fused
  // log-probabilities of next_token_logprobs).
  torch::Tensor head_in_dtype(const torch::Tensor& hidden) const;

  // Named access: "layers.<i>.<q|k|v|o|gate|up|down>", "lm_head".
  Linear& linear(const std::string& name);
  std::vector<std::string> linear_names() const;             // decoder linears, then lm_head
  // Every Linear (embed, the layers' linears, lm_head) under its name, and
  // every online-op list: the tables that attach, detach, bake, save and copy walk.
  std::vector<std::pair<std::string, Linear*>> all_linears();
  std::vector<OpSite> op_sites();
  // Removes every weight and online op carrying `tag`; returns how many.
  size_t detach(const std::string& tag);
  // Folds every weight op into the weights (Linear::bake); evaluation after
  // training then runs at the speed of a plain model.
  void bake();
  // The tensors of this layer's ops that require grad (each once), e.g. for
  // the recomputation of checkpoint_layers.
  std::vector<torch::Tensor> layer_trainable_tensors(size_t i) const;

  int64_t num_parameters() const;                            // tied weights counted once
  bool offloaded() const { return offloaded_; }
  void to(torch::Device device, torch::ScalarType dtype);

 private:
  bool offloaded_ = false;
};

// A deep copy: every tensor cloned (a tied lm_head stays tied), ops copied.
Model copy_model(const Model& m);

// rmsnorm as transformers computes it (see the top of this file).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

}  // namespace qlab
