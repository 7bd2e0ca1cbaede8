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
  const int64_t hd = model.config.head_dim;
  if (per_layer.size() != model.layers.size())
    throw std::invalid_argument("attach_value_rotation: one matrix per layer");
  OnDevice on{model.device, {}};
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const torch::Tensor H = on(per_layer[i]);
    Layer& l = model.layers[i];
    // v_proj output per head: v_h H  =>  rows of head block: W_h <- H^T W_h, b_h <- b_h H.
    l.v.weight_ops.push_back({"rotate_heads_out", tag, {H}, [H, hd](const Affine& a, torch::ScalarType dt) {
                                auto h = in(H, a, dt);
                                auto w = torch::matmul(h.t(), a.weight.view({-1, hd, a.weight.size(1)}));
                                auto bias = a.bias.defined() ? a.bias.view({-1, hd}).matmul(h).reshape({-1}) : a.bias;
                                return Affine{w.reshape({-1, a.weight.size(1)}), bias};
                              }});
    // o_proj input per head: (a_h H) W'_h^T = a_h W_h^T  =>  column block: W'_h = W_h H.
    l.o.weight_ops.push_back({"rotate_heads_in", tag, {H}, [H, hd](const Affine& a, torch::ScalarType dt) {
                                auto w = torch::matmul(a.weight.view({a.weight.size(0), -1, hd}), in(H, a, dt));
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
