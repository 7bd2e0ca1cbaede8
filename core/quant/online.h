// What runs at inference time beside the (fused) weights: online Hadamards and
// fake quantizers of activations and the KV cache, attached to a Model as
// named OnlineOps. One place describes them (OnlineSpec, with its JSON form),
// so `qlab quantize --out` can save them and a later load re-attach them.
#pragma once
#include <nlohmann/json.hpp>

#include "core/model/model.h"
#include "core/params.h"
#include "core/quant/quantizer.h"

namespace qlab {

struct OnlineSpec {
  // Hadamards (their inverses are fused into the weights by the method).
  bool down_hadamard = false;    // R4: on down_proj's input
  bool qk_hadamard = false;      // R3: on Q and K after RoPE (cancels in QK^T)
  bool o_hadamard = false;       // QuaRot: across heads on o_proj's input
  uint64_t seed = 0;             // for the orthogonal fallback of sizes without a Hadamard
  // Fake quantizers (bits 16 = off).
  QuantConfig act;               // every decoder linear's input, per token
  QuantConfig down_act;          // down_proj's input (often kept at 8 bits)
  QuantConfig o_act;             // o_proj's input (SpinQuant: per-head groups)
  QuantConfig k, v;              // KV cache, per head (groupsize = head_dim)

  nlohmann::json to_json() const;
  static OnlineSpec from_json(const nlohmann::json& j);
};

// Attaches the Hadamards (before any quantizer) and then the quantizers.
// Ops already attached stay; attaching twice is the caller's mistake.
void attach_online_hadamards(Model& model, const OnlineSpec& spec);
void attach_quantizers(Model& model, const OnlineSpec& spec);

// Weight side of the online Hadamards: W_down <- W_down M^T for R4 and the
// head-axis transform on W_o's columns, so the attached ops cancel.
void fuse_online_hadamards(Model& model, const OnlineSpec& spec);

// Parameters shared by every step that sets activation / KV quantizers
// (rtn, gptq, ...), and their reading into spec.
std::vector<ParamSpec> activation_quant_params();
void read_activation_quant(const Params& p, const Model& model, OnlineSpec& spec);

// Weight quantizer parameters (w_bits, w_sym, w_groupsize, w_clip, w_clip_search).
std::vector<ParamSpec> weight_quant_params();
QuantConfig read_weight_quant(const Params& p);

}  // namespace qlab
