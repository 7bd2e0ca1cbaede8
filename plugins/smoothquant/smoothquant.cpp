// SmoothQuant (Xiao et al.): per-channel scales s_j = max|X_j|^a / max|W_j|^(1-a)
// move activation outliers into the weights (X diag(1/s)) (diag(s) W^T), which
// is exact in full precision. As the SmoothQuant code does for LLaMA-family
// blocks, the 1/s folds into the RMSNorm before q/k/v and before gate/up;
// `smooth_down` also smooths down_proj's input through up_proj's output rows
// (not in the reference). Alpha defaults to the reference's per-family value
// (plugins/smoothquant/migration.h); calibration to its 512 windows of 512
// tokens (the paper samples the Pile; qlab's paper studies use WikiText-2
// train). The non-rotation baseline; follow with rtn or gptq. The statistics and
// folds are core/quant/smoothing.h, shared with OSTQuant's learned scales.
#include <spdlog/spdlog.h>

#include "core/engine/workspace.h"
#include "core/quant/smoothing.h"
#include "core/registry.h"
#include "plugins/common/calibration_data.h"
#include "plugins/smoothquant/migration.h"

namespace qlab {
namespace {

class SmoothQuant : public Method {
 public:
  explicit SmoothQuant(const Params& p) : p_(p) {}

  void apply(Workspace& ws, RunOutput&) override {
    Model& model = ws.model();
    torch::NoGradGuard no_grad;
    torch::Tensor calib = calibration_windows(ws, p_);
    MigrationStrength strength = p_.has("alpha") ? MigrationStrength{p_.get_float("alpha"), "set in the study"}
                                                 : smoothquant_alpha(model.config);
    const double alpha = strength.alpha;
    const bool smooth_down = p_.get_bool("smooth_down");
    spdlog::info("smoothquant: alpha {} ({})", alpha, strength.family);
    const size_t L = model.layers.size();
    std::vector<ChannelMax> attn_in(L), mlp_in(L), down_in(L);
    for (size_t i = 0; i < L; ++i) {
      Layer& l = model.layers[i];
      l.q.input_ops.push_back(capture_op([&, i](const torch::Tensor& x) { attn_in[i].add(x); }));
      l.gate.input_ops.push_back(capture_op([&, i](const torch::Tensor& x) { mlp_in[i].add(x); }));
      if (smooth_down) l.down.input_ops.push_back(capture_op([&, i](const torch::Tensor& x) { down_in[i].add(x); }));
    }
    for (int64_t b = 0; b < calib.size(0); ++b) model.forward(calib.narrow(0, b, 1).to(model.device));
    for (size_t i = 0; i < L; ++i) {
      Layer& l = model.layers[i];
      for (Linear* lin : {&l.q, &l.gate}) lin->input_ops.pop_back();
      if (smooth_down) l.down.input_ops.pop_back();
      auto s_attn = smoothing_scales(attn_in[i], {&l.q, &l.k, &l.v}, alpha);
      divide_by_scale(l.input_norm, s_attn, 0);
      for (Linear* lin : {&l.q, &l.k, &l.v}) scale_input_columns(*lin, s_attn);
      auto s_mlp = smoothing_scales(mlp_in[i], {&l.gate, &l.up}, alpha);
      divide_by_scale(l.post_attn_norm, s_mlp, 0);
      for (Linear* lin : {&l.gate, &l.up}) scale_input_columns(*lin, s_mlp);
      if (!smooth_down) continue;
      // down's input is silu(gate) * up: scaling up's output rows by 1/s scales it.
      auto s_down = smoothing_scales(down_in[i], {&l.down}, alpha);
      divide_by_scale(l.up.weight, s_down, 0);
      if (l.up.bias.defined()) divide_by_scale(l.up.bias, s_down, 0);
      scale_input_columns(l.down, s_down);
    }
    ws.quant_record().push_back({{"step", "smoothquant"},
                                 {"alpha", alpha},
                                 {"alpha_from", strength.family},
                                 {"smooth_down", smooth_down},
                                 {"nsamples", calib.size(0)},
                                 {"seqlen", calib.size(1)}});
  }

 private:
  Params p_;
};

std::vector<ParamSpec> smoothquant_params() {
  auto p = calibration_params(512, 512);
  p.push_back({"alpha", ParamType::Float, "",
               "migration strength (default: the SmoothQuant code's per family: LLaMA 7B-13B 0.85, 70B 0.9, Mistral "
               "0.8, others 0.5)",
               false, 0.0, 1.0});
  p.push_back({"smooth_down", ParamType::Bool, "false", "also smooth down_proj's input through up_proj's rows"});
  return p;
}

QLAB_REGISTER(MethodInfo{"smoothquant", "SmoothQuant per-channel smoothing (baseline); follow with rtn or gptq",
                         smoothquant_params(), [](const Params& p) { return std::make_unique<SmoothQuant>(p); }, check_calibration});

}  // namespace
}  // namespace qlab
