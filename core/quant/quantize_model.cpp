#include "core/quant/quantize_model.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "core/model/linear_blocks.h"
#include "core/progress.h"

namespace qlab {

namespace {

// Thrown by a stage's last capture: what the layer's forward computes after
// it (the rest of the layer, at most the whole of it) is never used, since the
// next stage runs the layer again with this stage's weights quantized. Model
// has no partial forward; stopping it from the capture keeps this GPTQ's
// business. Saves about half of the calibration forwards' work.
struct StageCaptured {};

}  // namespace

std::vector<std::vector<Linear*>> shared_input_groups(const std::vector<Linear*>& stage) {
  std::vector<std::vector<Linear*>> groups;
  for (Linear* lin : stage) {
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const std::vector<Linear*>& gr) { return same_ops(gr[0]->input_ops, lin->input_ops); });
    if (g == groups.end()) groups.push_back({lin});
    else g->push_back(lin);
  }
  return groups;
}

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
  for (Layer& layer : model.layers) place_adjacent(layer);   // new weights: one GEMM per block again
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
      // One Hessian per group, captured at its first linear's input. The
      // stage's last capture ends the forward (StageCaptured).
      const auto groups = shared_input_groups(stage);
      std::vector<std::shared_ptr<HessianAccumulator>> accs;
      size_t captured = 0;
      for (const auto& group : groups) {
        for (Linear* lin : group) cfg.validate_width(lin->weight.size(1), "weight quantizer");
        auto acc = std::make_shared<HessianAccumulator>(group[0]->weight.size(1));
        accs.push_back(acc);
        group[0]->input_ops.push_back(capture_op([acc, &captured, total = groups.size()](const torch::Tensor& x) {
          acc->add(x);
          if (++captured == total) throw StageCaptured{};
        }));
      }
      for (auto& h : hidden) {
        captured = 0;
        try {
          model.layer_forward(li, h, pos);
        } catch (const StageCaptured&) {
        }
      }
      for (size_t j = 0; j < groups.size(); ++j) {
        groups[j][0]->input_ops.pop_back();
        const auto& H = accs[j]->hessian();
        // GPTQ's rows are independent given H: the group's weights stacked
        // run one column loop instead of one per linear.
        std::vector<torch::Tensor> rows;
        for (Linear* lin : groups[j]) rows.push_back(lin->weight.to(H.device(), torch::kFloat32));
        // The stacked result, in the weights' dtype and device, is the
        // group's block (linear_blocks.h): each linear takes its rows as a view.
        const Linear& first = *groups[j][0];
        const torch::Tensor block = gptq_quantize(torch::cat(rows), H, cfg, options.gptq)
                                        .weight.to(first.weight.device(), first.weight.scalar_type());
        int64_t row = 0;
        for (Linear* lin : groups[j]) {
          const int64_t n = lin->weight.size(0);
          lin->weight = block.narrow(0, row, n);
          row += n;
        }
      }
    }
    place_adjacent(layer);   // groups quantized apart (different input ops) into one block where they can be
    for (auto& h : hidden) h = model.layer_forward(li, h, pos);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("gptq: layer {}/{} | {} | ETA {}", li + 1, layers, format_duration(secs),
                 format_duration(secs / double(li + 1) * double(layers - li - 1)));
  }
}

}  // namespace qlab
