#include "core/quant/rotation.h"

#include <stdexcept>

namespace qlab {

namespace {
torch::Tensor f64(const torch::Tensor& t, const torch::Device& d) { return t.to(d, torch::kFloat64); }

void assign(torch::Tensor& dst, const torch::Tensor& value) {
  dst = value.to(dst.device(), dst.scalar_type()).contiguous();
}

// W <- W diag(g): scale the input columns.
void scale_columns(torch::Tensor& weight, const torch::Tensor& g) {
  assign(weight, f64(weight, weight.device()) * f64(g, weight.device()).unsqueeze(0));
}

void untie_lm_head(Model& model) {
  if (model.lm_head.weight.is_same(model.embed.weight)) model.lm_head.weight = model.embed.weight.clone();
}

torch::Tensor in(const torch::Tensor& M, const Affine& a, torch::ScalarType dt) {
  return M.to(a.weight.device(), dt);
}
// The matrices on the model's device, each distinct one moved once: baking a
// 7B model otherwise copies a 4096 x 4096 float64 matrix to the GPU per linear.
// Tensors already there (learned ones) stay the same objects.
struct OnDevice {
  torch::Device device;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> moved;
  torch::Tensor operator()(const torch::Tensor& t) {
    if (t.device() == device) return t;
    for (const auto& [from, to] : moved)
      if (from.is_same(t)) return to;
    moved.emplace_back(t, t.to(device));
    return moved.back().second;
  }
};

}  // namespace

WeightOp rotate_in(const torch::Tensor& M, const std::string& tag) {
  return {"rotate_in", tag, {M}, [M](const Affine& a, torch::ScalarType dt) {
            return Affine{a.weight.matmul(in(M, a, dt)), a.bias};
          }};
}

WeightOp rotate_out(const torch::Tensor& M, const std::string& tag) {
  return {"rotate_out", tag, {M}, [M](const Affine& a, torch::ScalarType dt) {
            auto m = in(M, a, dt);
            return Affine{m.t().matmul(a.weight), a.bias.defined() ? a.bias.matmul(m) : a.bias};
          }};
}

void fuse_norms(Model& model, bool subtract_embedding_mean) {
  untie_lm_head(model);
  for (Layer& l : model.layers) {
    for (Linear* lin : {&l.q, &l.k, &l.v}) scale_columns(lin->weight, l.input_norm);
    for (Linear* lin : {&l.gate, &l.up}) scale_columns(lin->weight, l.post_attn_norm);
    l.input_norm = torch::ones_like(l.input_norm);
    l.post_attn_norm = torch::ones_like(l.post_attn_norm);
  }
  scale_columns(model.lm_head.weight, model.final_norm);
  model.final_norm = torch::ones_like(model.final_norm);
  if (subtract_embedding_mean) {
    auto e = f64(model.embed.weight, model.embed.weight.device());
    assign(model.embed.weight, e - e.mean(1, /*keepdim=*/true));
  }
}

ResidualBases shared_basis(const torch::Tensor& Q, size_t layers) {
  return {std::vector<torch::Tensor>(layers, Q), std::vector<torch::Tensor>(layers, Q), Q};
}

void attach_residual_rotation(Model& model, const ResidualBases& given, const std::string& tag) {
  const size_t L = model.layers.size();
  if (given.attn_in.size() != L || given.mlp_in.size() != L || !given.head.defined())
    throw std::invalid_argument("attach_residual_rotation: one attention and one MLP basis per layer, and a head basis");
  OnDevice on{model.device, {}};
  ResidualBases b{{}, {}, on(given.head)};
  for (size_t i = 0; i < L; ++i) b.attn_in.push_back(on(given.attn_in[i])), b.mlp_in.push_back(on(given.mlp_in[i]));
  untie_lm_head(model);
  model.embed.weight_ops.push_back(rotate_in(b.attn_in[0], tag));
  for (size_t i = 0; i < L; ++i) {
    Layer& l = model.layers[i];
    const torch::Tensor& next = i + 1 < L ? b.attn_in[i + 1] : b.head;
    for (Linear* lin : {&l.q, &l.k, &l.v}) lin->weight_ops.push_back(rotate_in(b.attn_in[i], tag));
    l.o.weight_ops.push_back(rotate_out(b.mlp_in[i], tag));
    for (Linear* lin : {&l.gate, &l.up}) lin->weight_ops.push_back(rotate_in(b.mlp_in[i], tag));
    l.down.weight_ops.push_back(rotate_out(next, tag));
  }
  model.lm_head.weight_ops.push_back(rotate_in(b.head, tag));
}

void attach_value_rotation(Model& model, const std::vector<torch::Tensor>& per_layer, const std::string& tag) {
  std::vector<std::vector<torch::Tensor>> grouped;
  for (const auto& H : per_layer) grouped.push_back({H});
  attach_value_rotation(model, grouped, tag);
}

void attach_value_rotation(Model& model, const std::vector<std::vector<torch::Tensor>>& per_layer, const std::string& tag) {
  const int64_t hd = model.config.head_dim, heads = model.config.num_heads, kv = model.config.num_kv_heads;
  if (per_layer.size() != model.layers.size())
    throw std::invalid_argument("attach_value_rotation: one list of matrices per layer");
  OnDevice on{model.device, {}};
  for (size_t i = 0; i < model.layers.size(); ++i) {
    std::vector<torch::Tensor> group;
    for (const auto& H : per_layer[i]) group.push_back(on(H));
    const int64_t n = int64_t(group.size());
    if (n != 1 && n != kv) throw std::invalid_argument("attach_value_rotation: one matrix per layer or per KV head");
    // [n, hd, hd], stacked on every call so that each matrix keeps its gradient;
    // n = 1 broadcasts over the heads.
    auto stacked = [group](const Affine& a, torch::ScalarType dt) {
      std::vector<torch::Tensor> g;
      for (const auto& H : group) g.push_back(in(H, a, dt));
      return torch::stack(g);
    };
    Layer& l = model.layers[i];
    // v_proj output of KV head g: v_g H_g  =>  its rows: W_g <- H_g^T W_g, b_g <- b_g H_g.
    l.v.weight_ops.push_back({"rotate_heads_out", tag, group, [stacked, hd](const Affine& a, torch::ScalarType dt) {
                                auto h = stacked(a, dt);
                                auto w = torch::matmul(h.transpose(1, 2), a.weight.view({-1, hd, a.weight.size(1)}));
                                auto bias = a.bias.defined() ? a.bias.view({-1, 1, hd}).matmul(h).reshape({-1}) : a.bias;
                                return Affine{w.reshape({-1, a.weight.size(1)}), bias};
                              }});
    // o_proj input of query head j (reading KV head j / (heads / kv)): (a_j H) W'_j^T = a_j W_j^T  =>  W'_j = W_j H.
    l.o.weight_ops.push_back({"rotate_heads_in", tag, group, [stacked, hd, heads, kv, n](const Affine& a, torch::ScalarType dt) {
                                auto h = stacked(a, dt);
                                if (n > 1) h = h.repeat_interleave(heads / kv, 0);
                                auto w = torch::matmul(a.weight.view({a.weight.size(0), -1, 1, hd}), h);
                                return Affine{w.reshape({a.weight.size(0), -1}), a.bias};
                              }});
  }
}

OnlineOp dense_transition(const torch::Tensor& from, const torch::Tensor& to, const std::string& tag) {
  OnlineOp op = transient_op("transition", [from, to](const torch::Tensor& x) {
    return x.matmul(from.t().matmul(to).to(x.scalar_type()));
  });
  op.tag = tag;
  op.tensors = {{"from", from}, {"to", to}};
  return op;
}

LowRankTransition approximate_transition(const torch::Tensor& T, int64_t rank) {
  auto t = T.detach().to(torch::kFloat64);
  const int64_t d = t.size(0), r = std::max<int64_t>(0, std::min(rank, d));
  auto I = torch::eye(d, t.options());
  auto U = std::get<0>(at::linalg_svd(t - I, /*full_matrices=*/false)).narrow(1, 0, r).contiguous();
  auto sub = at::linalg_svd(U.t().matmul(t).matmul(U), /*full_matrices=*/false);
  auto D = (std::get<0>(sub).matmul(std::get<2>(sub)) - torch::eye(r, t.options())).contiguous();
  return {U, D, (I + U.matmul(D).matmul(U.t()) - t).norm().item<double>()};
}

}  // namespace qlab
