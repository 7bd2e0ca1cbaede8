#include "core/quant/smoothing.h"

namespace qlab {

namespace {
torch::Tensor scale_of(const torch::Tensor& log_s, double power, const ScaleLayout& layout, const torch::Device& d,
                       torch::ScalarType dt) {
  auto s = (log_s.to(d, dt) * power).exp();
  return layout ? layout(s) : s;
}
}  // namespace

void ChannelMax::add(const torch::Tensor& x) {
  auto m = x.reshape({-1, x.size(-1)}).abs().amax(0).to(torch::kFloat32);
  value = value.defined() ? torch::maximum(value, m) : m;
}

torch::Tensor smoothing_scales(const ChannelMax& act, const std::vector<Linear*>& readers, double alpha) {
  auto w_max = readers[0]->weight.abs().amax(0).to(torch::kFloat32);
  for (size_t i = 1; i < readers.size(); ++i) w_max = torch::maximum(w_max, readers[i]->weight.abs().amax(0).to(torch::kFloat32));
  auto a = act.value.to(w_max.device()).clamp_min(1e-5);
  return (a.pow(alpha) / w_max.clamp_min(1e-5).pow(1 - alpha)).clamp_min(1e-5);
}

void scale_input_columns(Linear& l, const torch::Tensor& s) {
  l.weight = (l.weight.to(torch::kFloat32) * s.to(l.weight.device()).unsqueeze(0)).to(l.weight.scalar_type());
}

void divide_by_scale(torch::Tensor& t, const torch::Tensor& s, int64_t dim) {
  auto d = s.to(t.device());
  if (dim == 0 && t.dim() == 2) d = d.unsqueeze(1);
  t = (t.to(torch::kFloat32) / d).to(t.scalar_type());
}

WeightOp scale_columns_op(const torch::Tensor& log_s, double power, ScaleLayout layout, const std::string& tag) {
  return {"scale_columns", tag, {log_s}, [log_s, power, layout](const Affine& a, torch::ScalarType dt) {
            return Affine{a.weight * scale_of(log_s, power, layout, a.weight.device(), dt).unsqueeze(0), a.bias};
          }};
}

WeightOp scale_rows_op(const torch::Tensor& log_s, double power, ScaleLayout layout, const std::string& tag) {
  return {"scale_rows", tag, {log_s}, [log_s, power, layout](const Affine& a, torch::ScalarType dt) {
            auto s = scale_of(log_s, power, layout, a.weight.device(), dt);
            return Affine{a.weight * s.unsqueeze(1), a.bias.defined() ? a.bias * s : a.bias};
          }};
}

OnlineOp scale_input_op(const torch::Tensor& log_s, double power, const std::string& tag) {
  OnlineOp op = transient_op("scale", [log_s, power](const torch::Tensor& x) {
    return x * (log_s * power).exp().to(x.scalar_type());
  });
  op.tag = tag;
  op.tensors = {{"log_s", log_s}};
  return op;
}

}  // namespace qlab
