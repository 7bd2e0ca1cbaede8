// What the learned-rotation pipeline (plugins/common/rotation_learning.h)
// learns, and how it sits on a model: the rotations (R1 or per-layer bases,
// R2 per layer or per KV head) and OSTQuant's smoothing scales, each attached
// as weight ops on the frozen base, differentiable while learning (`live`)
// and fixed afterwards for Model::bake. Separate from the pipeline so that
// tests can check the transforms' invariance and initialisation directly.
#pragma once
#include "core/tensor.h"

#include <map>
#include <string>
#include <vector>

#include "core/model/model.h"
#include "core/quant/online.h"
#include "core/quant/rotation.h"

namespace qlab {

// R of order n: a randomised Hadamard (signs before the transform), or the
// seeded orthogonal fallback where no construction exists. Float64, CPU.
torch::Tensor initial_rotation(int64_t n, uint64_t seed);

// The KLT initialisation's covariances (float64): R1's is the sum of W^T W
// over every linear reading the residual (q, k, v, gate, up); R2's of value
// head g of layer i is W_g W_g^T over that head's rows of v_proj (all KV heads
// summed when R2 is shared by the heads).
torch::Tensor residual_covariance(const Model& m);
torch::Tensor value_covariance(const Model& m, size_t layer, int64_t kv_head);

// Shared (SpinQuant, OSTQuant, AAQ): one R1 for every residual segment.
// Layer-wise (ReSpinQuant): A_i entering layer i's attention, B_i entering its
// MLP, A_L entering lm_head, all from the same start so that every transition
// A_i^T B_i, B_i^T A_(i+1) starts as the identity. R2: one per layer, or one
// per KV head of each layer (OSTQuant). Start: random Hadamards, or (klt_from
// given) the KLT of that model's covariances times them.
struct Rotations {
  std::vector<torch::Tensor> attn_in, mlp_in;
  std::vector<std::vector<torch::Tensor>> values;   // [layer][group]
  torch::Tensor head;

  Rotations(const Model& m, uint64_t seed, bool layerwise, bool per_kv_head, const Model* klt_from,
            torch::TensorOptions opts);
  bool layerwise() const { return !attn_in[0].is_same(head); }
  // Each distinct tensor under a stable name (the cache's and the optimiser's list).
  std::map<std::string, torch::Tensor> named() const;
  std::vector<torch::Tensor> params() const;
  ResidualBases bases() const;        // detached
  ResidualBases live_bases() const;
  std::vector<std::vector<torch::Tensor>> values_for(bool live) const;
  // The skip path's change of basis around layer i's attention and MLP.
  torch::Tensor attn_transition(size_t i) const { return attn_in[i].t().matmul(mlp_in[i]); }
  torch::Tensor mlp_transition(size_t i) const { return mlp_in[i].t().matmul(next_attn_in(i)); }
  // Both transitions of every layer as exact dense ops on the residual hooks
  // (differentiable in live bases: what learning trains through).
  void attach_exact_transitions(Model& m, const std::string& tag) const;

 private:
  const torch::Tensor& next_attn_in(size_t i) const { return i + 1 < attn_in.size() ? attn_in[i + 1] : head; }
};

// OSTQuant's smoothing scales, as log s per layer (zero: s = 1, the identity):
// attn / mlp on the input of q, k, v / gate, up (the norm side divides: an
// input op while learning, folded into the RMSNorm's scale afterwards), vo on
// v's output channels (o's input columns of every query head reading that KV
// head multiply), ud on up's rows (down's columns multiply), qk [kv, hd/2] on
// the channel pairs RoPE mixes (q's rows multiply, k's divide, equal on both
// halves of a pair so that RoPE commutes). Each pair is exact with quantizers off.
struct Scales {
  std::vector<torch::Tensor> attn, mlp, vo, ud, qk;

  Scales() = default;
  Scales(const ModelConfig& c, torch::TensorOptions opts);
  bool empty() const { return attn.empty(); }
  std::map<std::string, torch::Tensor> named() const;
  std::vector<torch::Tensor> params() const;
  void attach(Model& model, const std::string& tag, bool live) const;
};

struct LearnedTransforms {
  Rotations rot;
  Scales scales;   // empty: rotations only (SpinQuant, ReSpinQuant)
  std::map<std::string, torch::Tensor> named() const;
  // The transforms under `tag`. With scales, R4's weight side (the online
  // Hadamard before down_proj, from `spec`) is attached here after them: it
  // must follow the up/down scale on down's columns. Without, the pipeline
  // bakes it before training instead.
  void attach(Model& model, const OnlineSpec& spec, const std::string& tag, bool live) const;
};

}  // namespace qlab
