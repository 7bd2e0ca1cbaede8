#include "core/quant/rotation.h"

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

// W <- M^T W (output side), b <- b M.
void left_multiply_transposed(Linear& l, const torch::Tensor& M) {
  auto d = l.weight.device();
  auto m = f64(M, d);
  assign(l.weight, m.t().matmul(f64(l.weight, d)));
  if (l.bias.defined()) assign(l.bias, f64(l.bias, d).matmul(m));
}

void untie_lm_head(Model& model) {
  if (model.lm_head.weight.is_same(model.embed)) model.lm_head.weight = model.embed.clone();
}
}  // namespace

void right_multiply(torch::Tensor& weight, const torch::Tensor& M) {
  auto d = weight.device();
  assign(weight, f64(weight, d).matmul(f64(M, d)));
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
    auto e = f64(model.embed, model.embed.device());
    assign(model.embed, e - e.mean(1, /*keepdim=*/true));
  }
}

void rotate_residual(Model& model, const torch::Tensor& Q) {
  untie_lm_head(model);
  right_multiply(model.embed, Q);
  for (Layer& l : model.layers) {
    for (Linear* lin : {&l.q, &l.k, &l.v, &l.gate, &l.up}) right_multiply(lin->weight, Q);
    left_multiply_transposed(l.o, Q);
    left_multiply_transposed(l.down, Q);
  }
  right_multiply(model.lm_head.weight, Q);
}

void rotate_values(Model& model, const torch::Tensor& H) {
  const int64_t hd = model.config.head_dim;
  for (Layer& l : model.layers) {
    auto d = l.v.weight.device();
    auto h = f64(H, d);
    // v_proj output per head: v_h H  =>  rows of head block: W_h <- H^T W_h, b_h <- b_h H.
    auto wv = f64(l.v.weight, d).view({-1, hd, l.v.weight.size(1)});
    assign(l.v.weight, torch::matmul(h.t(), wv).reshape({-1, l.v.weight.size(1)}));
    if (l.v.bias.defined()) assign(l.v.bias, f64(l.v.bias, d).view({-1, hd}).matmul(h).reshape({-1}));
    // o_proj input per head: (a_h H) W'_h^T = a_h W_h^T  =>  column block: W'_h = W_h H.
    auto wo = f64(l.o.weight, d).view({l.o.weight.size(0), -1, hd});
    assign(l.o.weight, torch::matmul(wo, h).reshape({l.o.weight.size(0), -1}));
  }
}

void fuse_into_down_input(Model& model, const torch::Tensor& T) {
  for (Layer& l : model.layers) right_multiply(l.down.weight, T);
}

}  // namespace qlab
