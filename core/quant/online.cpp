#include "core/quant/online.h"

#include <sstream>

#include "core/error.h"
#include "core/quant/hadamard.h"
#include "core/quant/online_fns.h"

namespace qlab {

namespace {

nlohmann::json quant_to_json(const QuantConfig& c) {
  return {{"bits", c.bits},           {"symmetric", c.symmetric},   {"granularity", to_string(c.granularity)},
          {"groupsize", c.groupsize}, {"clip_ratio", c.clip_ratio}, {"clip_search", c.clip_search}};
}

QuantConfig quant_from_json(const nlohmann::json& j) {
  QuantConfig c;
  c.bits = j.at("bits").get<int>();
  c.symmetric = j.at("symmetric").get<bool>();
  c.granularity = parse_granularity(j.at("granularity").get<std::string>(), "quantization description");
  c.groupsize = j.at("groupsize").get<int64_t>();
  c.clip_ratio = j.at("clip_ratio").get<double>();
  c.clip_search = j.at("clip_search").get<bool>();
  return c;
}

HadamardPlan plan_from(const nlohmann::json& args, const char* order_key) {
  return plan_hadamard(args.at(order_key).get<int64_t>(), args.value("fallback", false), args.value("seed", uint64_t(0)));
}

const torch::Tensor& payload(const std::map<std::string, torch::Tensor>& tensors, const std::string& kind,
                             const std::string& name) {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw UsageError("online op '" + kind + "': missing tensor '" + name + "'");
  return it->second;
}

nlohmann::json hadamard_args(int64_t n, bool fallback, uint64_t seed, const char* order_key) {
  return {{order_key, n}, {"fallback", fallback}, {"seed", seed}};
}

}  // namespace

// x [..., heads * head_dim]: the transform M [heads, heads] (dense) along the
// head axis, QuaRot's online Hadamard before o_proj: every row, seen as
// [heads, head_dim], becomes M times it. One batched product with M broadcast
// (a stride-0 batch), so x is neither transposed nor copied. The same call on
// W_o's rows cancels it. cuBLAS accumulates a bfloat16 / float16 product in
// float32; LibTorch's CPU bmm (1.13) accumulates small ones in the dtype
// itself, so there the product is formed in float32 and rounded once.
torch::Tensor across_heads(const torch::Tensor& x, const torch::Tensor& m) {
  const int64_t heads = m.size(0);
  const bool widen = !x.is_cuda() && (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf);
  const auto compute = widen ? torch::kFloat32 : x.scalar_type();
  auto rows = x.reshape({-1, heads, x.size(-1) / heads}).to(compute);
  auto y = torch::bmm(m.to(x.device(), compute).expand({rows.size(0), heads, heads}), rows);
  return y.to(x.scalar_type()).view(x.sizes());
}

nlohmann::json OnlineSpec::to_json() const {
  return {{"down_hadamard", down_hadamard}, {"qk_hadamard", qk_hadamard}, {"o_hadamard", o_hadamard},
          {"seed", seed},                   {"act", quant_to_json(act)},  {"down_act", quant_to_json(down_act)},
          {"o_act", quant_to_json(o_act)},  {"k", quant_to_json(k)},      {"v", quant_to_json(v)}};
}

OnlineSpec OnlineSpec::from_json(const nlohmann::json& j) {
  OnlineSpec s;
  s.down_hadamard = j.at("down_hadamard").get<bool>();
  s.qk_hadamard = j.at("qk_hadamard").get<bool>();
  s.o_hadamard = j.at("o_hadamard").get<bool>();
  s.seed = j.at("seed").get<uint64_t>();
  s.act = quant_from_json(j.at("act"));
  s.down_act = quant_from_json(j.at("down_act"));
  s.o_act = quant_from_json(j.at("o_act"));
  s.k = quant_from_json(j.at("k"));
  s.v = quant_from_json(j.at("v"));
  return s;
}

OnlineOp make_online_op(const std::string& kind, const nlohmann::json& args,
                        const std::map<std::string, torch::Tensor>& tensors, torch::Device device,
                        torch::ScalarType dtype, const std::string& tag) {
  OnlineOp op{kind, tag, args, tensors, nullptr};
  try {
    if (kind == "hadamard") {
      const HadamardPlan plan = plan_from(args, "n");
      op.args["description"] = plan.description;
      const float scale = plan.power_matrix.defined() ? plan.power_matrix[0][0].to(dtype).item<float>() : 0.f;
      torch::Tensor outer_padded;
      if (plan.outer > 1) {
        const int64_t m = plan.outer;
        outer_padded = torch::zeros({m, (m + 7) / 8 * 8}, torch::kFloat64);
        outer_padded.narrow(1, 0, m).copy_(plan.outer_matrix);
        outer_padded = outer_padded.to(device, dtype);
      }
      op.fn = HadamardFn{std::make_shared<const HadamardPlan>(plan.to(device, dtype)), scale, outer_padded};
    } else if (kind == "hadamard_heads") {
      const HadamardPlan plan = plan_from(args, "heads");
      op.args["description"] = plan.description;
      const torch::Tensor m = transform_matrix(plan).to(device, dtype);
      op.fn = [m](const torch::Tensor& x) { return across_heads(x, m); };
    } else if (kind == "fake_quant") {
      QuantConfig cfg = quant_from_json(args);
      op.args["description"] = cfg.describe();
      op.fn = FakeQuantFn{cfg};
    } else if (kind == "matmul") {
      auto m = payload(tensors, kind, "M");
      op.fn = [m](const torch::Tensor& x) { return x.matmul(m.to(x.device(), x.scalar_type())); };
    } else if (kind == "lowrank_residual") {
      auto u = payload(tensors, kind, "U"), d = payload(tensors, kind, "D");
      op.fn = [u, d](const torch::Tensor& x) {
        auto uu = u.to(x.device(), x.scalar_type());
        return x + x.matmul(uu).matmul(d.to(x.device(), x.scalar_type())).matmul(uu.t());
      };
    } else {
      throw UsageError("unknown online op kind '" + kind +
                       "' (expected hadamard, hadamard_heads, fake_quant, matmul or lowrank_residual)");
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError("online op '" + kind + "': " + e.what());
  }
  return op;
}

void check_online_op(const OnlineOp& op, int64_t width, double tol) {
  auto shape_error = [&](const std::string& name, const torch::Tensor& t, const std::string& want) {
    std::ostringstream s;
    s << op.kind << " tensor '" << name << "' has shape " << t.sizes() << ", expected " << want << " for activations of width "
      << width;
    return UsageError(s.str());
  };
  // Largest entry of |A^T A - I|: how far A's columns are from orthonormal.
  auto off_orthogonal = [](const torch::Tensor& a) {
    auto a64 = a.to(torch::kFloat64);
    return (a64.t().matmul(a64) - torch::eye(a.size(1), a64.options())).abs().max().item<double>();
  };
  if (op.kind == "matmul") {
    const auto& m = op.tensors.at("M");
    if (m.dim() != 2 || m.size(0) != width || m.size(1) != width)
      throw shape_error("M", m, "[" + std::to_string(width) + ", " + std::to_string(width) + "]");
  } else if (op.kind == "lowrank_residual") {
    const auto &u = op.tensors.at("U"), &d = op.tensors.at("D");
    if (u.dim() != 2 || u.size(0) != width || u.size(1) > width)
      throw shape_error("U", u, "[" + std::to_string(width) + ", r] with r <= " + std::to_string(width));
    const int64_t r = u.size(1);
    if (d.dim() != 2 || d.size(0) != r || d.size(1) != r)
      throw shape_error("D", d, "[" + std::to_string(r) + ", " + std::to_string(r) + "]");
    if (r == 0) return;
    double eu = off_orthogonal(u), ed = off_orthogonal(d + torch::eye(r, d.options()));
    if (eu > tol || ed > tol) {
      std::ostringstream s;
      s << "lowrank_residual transition is not orthogonal (" << (eu > tol ? "U^T U - I" : "(I + D)^T (I + D) - I")
        << " reaches " << std::max(eu, ed) << ", tolerance " << tol << ")";
      throw UsageError(s.str());
    }
  }
}

void attach_online_hadamards(Model& model, const OnlineSpec& spec, const std::string& tag) {
  const auto& c = model.config;
  auto make = [&](const char* kind, const nlohmann::json& args) {
    return make_online_op(kind, args, {}, model.device, model.dtype, tag);
  };
  if (spec.down_hadamard) {
    auto op = make("hadamard", hadamard_args(c.intermediate_size, true, spec.seed, "n"));
    for (Layer& l : model.layers) l.down.input_ops.push_back(op);
  }
  if (spec.qk_hadamard) {
    auto op = make("hadamard", hadamard_args(c.head_dim, false, 0, "n"));
    for (Layer& l : model.layers) {
      l.q_rope_ops.push_back(op);
      l.k_rope_ops.push_back(op);
    }
  }
  if (spec.o_hadamard) {
    auto op = make("hadamard_heads", hadamard_args(c.num_heads, true, spec.seed, "heads"));
    for (Layer& l : model.layers) l.o.input_ops.push_back(op);
  }
}

void attach_online_hadamard_weights(Model& model, const OnlineSpec& spec, const std::string& tag) {
  const auto& c = model.config;
  // The plans are built per op call in the compute dtype: float64 when baking.
  if (spec.down_hadamard) {
    auto plan = std::make_shared<HadamardPlan>(plan_hadamard(c.intermediate_size, true, spec.seed));
    WeightOp op{"hadamard_in", tag, {}, [plan](const Affine& a, torch::ScalarType dt) {
                  return Affine{apply_hadamard(a.weight, plan->to(a.weight.device(), dt)), a.bias};
                }};
    for (Layer& l : model.layers) l.down.weight_ops.push_back(op);
  }
  if (spec.o_hadamard) {
    const torch::Tensor m = transform_matrix(plan_hadamard(c.num_heads, true, spec.seed));   // float64
    WeightOp op{"hadamard_heads_in", tag, {}, [m](const Affine& a, torch::ScalarType) {
                  return Affine{across_heads(a.weight, m), a.bias};
                }};
    for (Layer& l : model.layers) l.o.weight_ops.push_back(op);
  }
}

void attach_quantizers(Model& model, const OnlineSpec& spec, const std::string& tag) {
  auto quant = [&](const QuantConfig& cfg) {
    return make_online_op("fake_quant", quant_to_json(cfg), {}, model.device, model.dtype, tag);
  };
  for (Layer& l : model.layers) {
    for (Linear* lin : {&l.q, &l.k, &l.v, &l.gate, &l.up})
      if (spec.act.enabled()) lin->input_ops.push_back(quant(spec.act));
    if (spec.o_act.enabled()) l.o.input_ops.push_back(quant(spec.o_act));
    if (spec.down_act.enabled()) l.down.input_ops.push_back(quant(spec.down_act));
    if (spec.k.enabled()) l.k_rope_ops.push_back(quant(spec.k));
    if (spec.v.enabled()) l.v_ops.push_back(quant(spec.v));
  }
}

namespace {
ParamSpec bits_param(const char* name, const char* default_value, const char* doc, const char* off = nullptr) {
  ParamSpec s{name, ParamType::Int, default_value, doc};
  s.choices = bit_width_choices(off);
  return s;
}
}  // namespace

std::vector<ParamSpec> activation_quant_params() {
  return {
      bits_param("a_bits", "16", "activation bits, per token on every decoder linear's input (16: off)"),
      {"a_sym", ParamType::Bool, "false", "symmetric activation grid (QuaRot: true; SpinQuant/AAQ: false)"},
      {"a_clip", ParamType::Float, "1.0", "activation clip ratio (QuaRot's W4A4 runs: 0.9)", false, 0.01, 1.0},
      {"a_groupsize", ParamType::Int, "0", "activation group size over the width (0: whole token)", false, 0, {}},
      {"o_per_head", ParamType::Bool, "false", "quantize o_proj's input in per-head groups (SpinQuant) instead of per token"},
      bits_param("down_a_bits", "0", "bits for down_proj's input (0: same as a_bits; e.g. 8 keeps it at 8-bit)", "0"),
      bits_param("kv_bits", "16", "KV cache bits (16: off)"),
      {"kv_sym", ParamType::Bool, "false", "symmetric KV grid"},
      {"kv_clip", ParamType::Float, "1.0", "KV clip ratio (QuaRot: 0.95)", false, 0.01, 1.0},
      {"kv_groupsize", ParamType::Int, "0", "KV group size (0: one head, i.e. head_dim)", false, 0, {}},
  };
}

void read_activation_quant(const Params& p, const Model& model, OnlineSpec& spec) {
  const std::string where = p.owner();
  QuantConfig act;
  act.bits = static_cast<int>(p.get_int("a_bits"));
  act.symmetric = p.get_bool("a_sym");
  act.clip_ratio = p.get_float("a_clip");
  int64_t ag = p.get_int("a_groupsize");
  act.granularity = ag > 0 ? Granularity::PerGroup : Granularity::PerToken;
  act.groupsize = ag;
  if (act.enabled()) act.validate_width(model.config.hidden_size, where + ".a_groupsize");
  spec.act = act;
  spec.o_act = act;
  if (p.get_bool("o_per_head") && act.enabled()) {
    spec.o_act.granularity = Granularity::PerGroup;
    spec.o_act.groupsize = model.config.head_dim;
  }
  spec.down_act = act;
  if (int64_t db = p.get_int("down_a_bits"); db > 0) spec.down_act.bits = static_cast<int>(db);
  if (spec.down_act.enabled() && ag > 0) spec.down_act.validate_width(model.config.intermediate_size, where + ".a_groupsize");
  QuantConfig kv;
  kv.bits = static_cast<int>(p.get_int("kv_bits"));
  kv.symmetric = p.get_bool("kv_sym");
  kv.clip_ratio = p.get_float("kv_clip");
  int64_t kg = p.get_int("kv_groupsize");
  // K and V arrive as [B, kv_heads, T, head_dim]: groups run over head_dim.
  if (kg > 0 && kg < model.config.head_dim) {
    kv.granularity = Granularity::PerGroup;
    kv.groupsize = kg;
  } else {
    kv.granularity = Granularity::PerToken;
  }
  if (kv.enabled()) kv.validate_width(model.config.head_dim, where + ".kv_groupsize");
  spec.k = spec.v = kv;
}

std::map<std::string, std::map<std::string, std::string>> quantizer_presets() {
  return {
      {"none", {}},
      {"quarot-paper",
       {{"a_sym", "true"}, {"a_clip", "0.9"}, {"kv_sym", "false"}, {"kv_clip", "0.95"}, {"o_per_head", "false"},
        {"w_clip_search", "true"}}},
      {"spinquant-paper",
       {{"a_sym", "false"}, {"a_clip", "1.0"}, {"kv_sym", "false"}, {"kv_clip", "1.0"}, {"o_per_head", "true"},
        {"w_clip_search", "true"}}},
  };
}

ParamSpec quantizer_preset_param() {
  return {"preset", ParamType::String, "auto",
          "paper quantizer settings for keys left out: quarot-paper, spinquant-paper, none (schema defaults); auto: "
          "the preceding rotation method's paper, else none",
          false, {}, {}, {"auto", "none", "quarot-paper", "spinquant-paper"}};
}

std::vector<ParamSpec> weight_quant_params() {
  return {
      bits_param("w_bits", "4", "weight bits (16: weights stay in full precision)"),
      {"w_sym", ParamType::Bool, "true", "symmetric weight grid"},
      {"w_groupsize", ParamType::Int, "0", "group size over input columns (0: per output channel)", false, 0, {}},
      {"w_clip", ParamType::Float, "1.0", "weight clip ratio", false, 0.01, 1.0},
      {"w_clip_search", ParamType::Bool, "false", "search the clip per row minimising |q - w|^2.4 (QuaRot's w_clip)"},
  };
}

QuantConfig read_weight_quant(const Params& p) {
  QuantConfig c;
  c.bits = static_cast<int>(p.get_int("w_bits"));
  c.symmetric = p.get_bool("w_sym");
  int64_t g = p.get_int("w_groupsize");
  c.granularity = g > 0 ? Granularity::PerGroup : Granularity::PerChannel;
  c.groupsize = g;
  c.clip_ratio = p.get_float("w_clip");
  c.clip_search = p.get_bool("w_clip_search");
  c.validate(p.owner());
  return c;
}

}  // namespace qlab
