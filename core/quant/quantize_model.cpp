#include "core/quant/quantize_model.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>

#include "core/progress.h"

namespace qlab {

std::vector<std::vector<Linear*>> sequential_stages(Layer& l) {
  return {{&l.q, &l.k, &l.v}, {&l.o}, {&l.gate, &l.up}, {&l.down}};
}

void quantize_weights_rtn(Model& model, const QuantConfig& cfg) {
  if (!cfg.enabled()) return;
  torch::NoGradGuard no_grad;
  for (Layer& layer : model.layers)
    for (auto& stage : sequential_stages(layer))
      for (Linear* lin : stage) {
        cfg.validate_width(lin->weight.size(1), "weight quantizer");
        auto w = lin->weight.to(model.device, torch::kFloat32);
        lin->weight = fake_quantize_weight(w, cfg).to(lin->weight.device(), lin->weight.scalar_type());
      }
}

void quantize_weights_gptq(Model& model, const QuantConfig& cfg, const torch::Tensor& calibration,
                           const GptqRunOptions& options) {
  if (!cfg.enabled()) return;
  torch::NoGradGuard no_grad;
  const int64_t n = calibration.size(0), seqlen = calibration.size(1);
  auto pos = model.positions({}, seqlen, 0);
  std::vector<torch::Tensor> hidden;
  for (int64_t i = 0; i < n; i += options.batch_size)
    hidden.push_back(model.embed_tokens(calibration.narrow(0, i, std::min(options.batch_size, n - i)).to(model.device)));

  auto t0 = std::chrono::steady_clock::now();
  const size_t layers = model.layers.size();
  for (size_t li = 0; li < layers; ++li) {
    Layer& layer = model.layers[li];
    for (auto& stage : sequential_stages(layer)) {
      std::vector<std::shared_ptr<HessianAccumulator>> accs;
      for (Linear* lin : stage) {
        cfg.validate_width(lin->weight.size(1), "weight quantizer");
        auto acc = std::make_shared<HessianAccumulator>(lin->weight.size(1));
        accs.push_back(acc);
        lin->input_ops.push_back(
            capture_op([acc](const torch::Tensor& x) { acc->add(x.reshape({-1, x.size(-1)}).to(torch::kFloat32)); }));
      }
      for (auto& h : hidden) model.layer_forward(li, h, pos);
      for (size_t j = 0; j < stage.size(); ++j) {
        Linear* lin = stage[j];
        lin->input_ops.pop_back();
        const auto& H = accs[j]->hessian();
        auto result = gptq_quantize(lin->weight.to(H.device(), torch::kFloat32), H, cfg, options.gptq);
        lin->weight = result.weight.to(lin->weight.device(), lin->weight.scalar_type());
      }
    }
    for (auto& h : hidden) h = model.layer_forward(li, h, pos);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("gptq: layer {}/{} | {} | ETA {}", li + 1, layers, format_duration(secs),
                 format_duration(secs / double(li + 1) * double(layers - li - 1)));
  }
}

}  // namespace qlab
