// What runs at inference time beside the (fused) weights: online Hadamards,
// fake quantizers of activations and the KV cache, and learned online maps,
// attached to a Model as typed OnlineOp records. make_online_op is the one
// place that turns a record (kind, args, tensors) into the operation, so that
// `qlab quantize --out` can save every record and a later load rebuild it.
// OnlineSpec is the settings a pipeline accumulates (which Hadamards, which
// quantizers) from which the records are made.
#pragma once
#include <map>
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

// Kinds of saved online ops and their records:
//   hadamard        args {n, fallback, seed}: the plan of order n on each chunk of n of the last dim
//   hadamard_heads  args {heads, fallback, seed}: the plan of order `heads` along the head axis
//   fake_quant      args: the QuantConfig (bits, symmetric, granularity, ...)
//   matmul          tensors {M}: x <- x M
//   lowrank_residual tensors {U [d, r], D [r, r]}: x <- x + ((x U) D) U^T
// Throws UsageError on an unknown kind or a missing argument or tensor.
OnlineOp make_online_op(const std::string& kind, const nlohmann::json& args,
                        const std::map<std::string, torch::Tensor>& tensors, torch::Device device,
                        torch::ScalarType dtype, const std::string& tag);

// Whether a rebuilt op's payload fits its site (activations of `width` in the
// last dimension) and, where its kind promises it, is what it says: a
// lowrank_residual transition must be orthogonal (U's columns orthonormal,
// I + D orthogonal, to `tol` in the largest entry), as every saved change of
// the residual basis is. Throws UsageError naming the tensor and the problem.
void check_online_op(const OnlineOp& op, int64_t width, double tol = 1e-4);

// Tags of the ops attached here: quantizers carry kQuantTag, so a learned
// method can train with them and take them off (Model::detach).
inline constexpr const char* kQuantTag = "quant";

// Attaches the Hadamards (before any quantizer) and then the quantizers.
// Ops already attached stay; attaching twice is the caller's mistake.
void attach_online_hadamards(Model& model, const OnlineSpec& spec, const std::string& tag);
void attach_quantizers(Model& model, const OnlineSpec& spec, const std::string& tag = kQuantTag);

// Weight side of the online Hadamards, as weight ops (baked by Model::bake):
// W_down <- W_down M^T for R4 and the head-axis transform on W_o's columns,
// so the attached ops cancel.
void attach_online_hadamard_weights(Model& model, const OnlineSpec& spec, const std::string& tag);

// Parameters shared by every step that sets activation / KV quantizers
// (rtn, gptq, ...), and their reading into spec.
std::vector<ParamSpec> activation_quant_params();
void read_activation_quant(const Params& p, const Model& model, OnlineSpec& spec);

// The papers' quantizer settings by name, for a quantizing step's `preset`
// (MethodInfo::presets; the `preset` parameter itself is quantizer_preset_param):
//   quarot-paper     activations symmetric, clip 0.9; KV asymmetric, clip 0.95;
//                    weight clip search (QuaRot's W4A4 runs)
//   spinquant-paper  activations and KV asymmetric, no clip; o_proj's input in
//                    per-head groups; weight clip search (SpinQuant's eval script)
//   none             the schema's defaults
// `auto` (the default) takes the preset of the rotation method before the step.
std::map<std::string, std::map<std::string, std::string>> quantizer_presets();
ParamSpec quantizer_preset_param();

// Weight quantizer parameters (w_bits, w_sym, w_groupsize, w_clip, w_clip_search).
std::vector<ParamSpec> weight_quant_params();
QuantConfig read_weight_quant(const Params& p);

}  // namespace qlab
