#include "plugins/common/learned_transforms.h"

#include "core/quant/hadamard.h"
#include "core/quant/orthogonal.h"
#include "core/quant/smoothing.h"

namespace qlab {

namespace {
std::vector<torch::Tensor> detached(const std::vector<torch::Tensor>& v) {
  std::vector<torch::Tensor> out;
  for (auto& t : v) out.push_back(t.detach());
  return out;
}
}  // namespace

torch::Tensor initial_rotation(int64_t n, uint64_t seed) {
  return random_hadamard_matrix(plan_hadamard(n, /*allow_orthogonal_fallback=*/true, seed), seed);
}

torch::Tensor residual_covariance(const Model& m) {
  torch::Tensor c;
  for (const Layer& l : m.layers)
    for (const Linear* lin : {&l.q, &l.k, &l.v, &l.gate, &l.up}) {
      auto w = lin->weight.to(torch::kFloat64);
      c = c.defined() ? c + w.t().matmul(w) : w.t().matmul(w);
    }
  return c;
}

torch::Tensor value_covariance(const Model& m, size_t layer, int64_t kv_head) {
  auto w = m.layers[layer].v.weight.narrow(0, kv_head * m.config.head_dim, m.config.head_dim).to(torch::kFloat64);
  return w.matmul(w.t());
}

Rotations::Rotations(const Model& m, uint64_t seed, bool layerwise, bool per_kv_head, const Model* klt_from,
                     torch::TensorOptions opts) {
  const ModelConfig& c = m.config;
  const size_t L = size_t(c.num_layers);
  torch::Tensor start = initial_rotation(c.hidden_size, seed);
  if (klt_from) start = klt_basis(residual_covariance(*klt_from)).cpu().matmul(start);
  start = start.to(opts);
  auto next = [&] { return layerwise ? start.clone() : start; };
  for (size_t i = 0; i < L; ++i) attn_in.push_back(next()), mlp_in.push_back(next());
  head = next();
  const int64_t groups = per_kv_head ? c.num_kv_heads : 1;
  for (size_t i = 0; i < L; ++i) {
    values.emplace_back();
    const torch::Tensor H = random_hadamard_matrix(c.head_dim, seed + 1 + i);
    for (int64_t g = 0; g < groups; ++g) {
      torch::Tensor r = H;
      if (klt_from) {
        torch::Tensor cov = value_covariance(*klt_from, i, g);
        if (!per_kv_head)
          for (int64_t h = 1; h < c.num_kv_heads; ++h) cov = cov + value_covariance(*klt_from, i, h);
        r = klt_basis(cov).cpu().matmul(H);
      }
      values.back().push_back(r.to(opts));
    }
  }
}

std::map<std::string, torch::Tensor> Rotations::named() const {
  std::map<std::string, torch::Tensor> out;
  if (!layerwise()) out["r1"] = head;
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t g = 0; g < values[i].size(); ++g)
      out["r2." + std::to_string(i) + (values[i].size() > 1 ? "." + std::to_string(g) : "")] = values[i][g];
    if (layerwise()) out["a." + std::to_string(i)] = attn_in[i], out["b." + std::to_string(i)] = mlp_in[i];
  }
  if (layerwise()) out["a." + std::to_string(values.size())] = head;
  return out;
}

std::vector<torch::Tensor> Rotations::params() const {
  std::vector<torch::Tensor> out;
  for (auto& [name, t] : named()) out.push_back(t);
  return out;
}

void Rotations::attach_exact_transitions(Model& m, const std::string& tag) const {
  for (size_t i = 0; i < m.layers.size(); ++i) {
    m.layers[i].attn_skip_ops.push_back(dense_transition(attn_in[i], mlp_in[i], tag));
    m.layers[i].mlp_skip_ops.push_back(dense_transition(mlp_in[i], next_attn_in(i), tag));
  }
}

ResidualBases Rotations::bases() const { return {detached(attn_in), detached(mlp_in), head.detach()}; }
ResidualBases Rotations::live_bases() const { return {attn_in, mlp_in, head}; }

std::vector<std::vector<torch::Tensor>> Rotations::values_for(bool live) const {
  if (live) return values;
  std::vector<std::vector<torch::Tensor>> out;
  for (auto& v : values) out.push_back(detached(v));
  return out;
}

Scales::Scales(const ModelConfig& c, torch::TensorOptions opts) {
  for (int64_t i = 0; i < c.num_layers; ++i) {
    attn.push_back(torch::zeros({c.hidden_size}, opts));
    mlp.push_back(torch::zeros({c.hidden_size}, opts));
    vo.push_back(torch::zeros({c.num_kv_heads * c.head_dim}, opts));
    ud.push_back(torch::zeros({c.intermediate_size}, opts));
    qk.push_back(torch::zeros({c.num_kv_heads, c.head_dim / 2}, opts));
  }
}

std::map<std::string, torch::Tensor> Scales::named() const {
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < attn.size(); ++i) {
    const std::string n = std::to_string(i);
    out["s.attn." + n] = attn[i], out["s.mlp." + n] = mlp[i], out["s.vo." + n] = vo[i], out["s.ud." + n] = ud[i];
    out["s.qk." + n] = qk[i];
  }
  return out;
}

std::vector<torch::Tensor> Scales::params() const {
  std::vector<torch::Tensor> out;
  for (auto& [name, t] : named()) out.push_back(t);
  return out;
}

void Scales::attach(Model& model, const std::string& tag, bool live) const {
  const ModelConfig& c = model.config;
  const int64_t group = c.num_heads / c.num_kv_heads, kv = c.num_kv_heads, hd = c.head_dim;
  // From [kv, hd/2] (qk) or [kv * hd] (vo): both halves of each RoPE pair, then
  // every query head of the group (transformers' repeat_kv order).
  ScaleLayout k_layout = [](const torch::Tensor& s) { return torch::cat({s, s}, -1).reshape({-1}); };
  ScaleLayout q_layout = [group, kv, hd](const torch::Tensor& s) {
    return torch::cat({s, s}, -1).view({kv, 1, hd}).expand({kv, group, hd}).reshape({-1});
  };
  ScaleLayout o_layout = [group, kv, hd](const torch::Tensor& s) {
    return s.reshape({kv, 1, hd}).expand({kv, group, hd}).reshape({-1});
  };
  auto use = [live](const torch::Tensor& t) { return live ? t : t.detach(); };
  for (size_t i = 0; i < attn.size(); ++i) {
    Layer& l = model.layers[i];
    const torch::Tensor a = use(attn[i]), m = use(mlp[i]), vo_i = use(vo[i]), ud_i = use(ud[i]), qk_i = use(qk[i]);
    if (live) {
      for (Linear* lin : {&l.q, &l.k, &l.v}) lin->input_ops.push_back(scale_input_op(a, -1, tag));
      for (Linear* lin : {&l.gate, &l.up}) lin->input_ops.push_back(scale_input_op(m, -1, tag));
    } else {
      divide_by_scale(l.input_norm, a.exp(), 0);
      divide_by_scale(l.post_attn_norm, m.exp(), 0);
    }
    for (Linear* lin : {&l.q, &l.k, &l.v}) lin->weight_ops.push_back(scale_columns_op(a, 1, {}, tag));
    for (Linear* lin : {&l.gate, &l.up}) lin->weight_ops.push_back(scale_columns_op(m, 1, {}, tag));
    l.v.weight_ops.push_back(scale_rows_op(vo_i, -1, {}, tag));
    l.o.weight_ops.push_back(scale_columns_op(vo_i, 1, o_layout, tag));
    l.up.weight_ops.push_back(scale_rows_op(ud_i, -1, {}, tag));
    l.down.weight_ops.push_back(scale_columns_op(ud_i, 1, {}, tag));
    l.q.weight_ops.push_back(scale_rows_op(qk_i, 1, q_layout, tag));
    l.k.weight_ops.push_back(scale_rows_op(qk_i, -1, k_layout, tag));
  }
}

std::map<std::string, torch::Tensor> LearnedTransforms::named() const {
  auto out = rot.named();
  for (auto& [n, t] : scales.named()) out[n] = t;
  return out;
}

void LearnedTransforms::attach(Model& model, const OnlineSpec& spec, const std::string& tag, bool live) const {
  attach_residual_rotation(model, live ? rot.live_bases() : rot.bases(), tag);
  attach_value_rotation(model, rot.values_for(live), tag);
  if (scales.empty()) return;
  scales.attach(model, tag, live);
  attach_online_hadamard_weights(model, spec, tag);
}

}  // namespace qlab
