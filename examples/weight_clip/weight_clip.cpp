// weight_clip: an out-of-tree method plugin and a small baseline. Each row of
// every layer's linear weights is clipped to +-k times the row's standard
// deviation (population, over the row's inputs), the outliers that make
// round-to-nearest coarse; a quantizer after it (rtn, gptq) then spends its
// range on the bulk of the row. Weight ops attached by earlier steps are
// baked first, so the clipping applies to the weights the model computes with.
#include <torch/torch.h>

#include "core/engine/workspace.h"
#include "core/model/model.h"
#include "core/registry.h"

namespace {

struct WeightClip : qlab::Method {
  double k;
  explicit WeightClip(const qlab::Params& p) : k(p.get_float("k")) {}

  void apply(qlab::Workspace& ws, qlab::RunOutput& out) override {
    torch::NoGradGuard no_grad;
    int64_t clipped = 0, total = 0;
    for (qlab::Layer& layer : ws.model().layers)
      for (const qlab::LinearSlot& slot : qlab::layer_linears()) {
        qlab::Linear& linear = layer.*slot.member;
        linear.bake();
        torch::Tensor w = linear.weight.to(torch::kFloat64);
        torch::Tensor bound = k * torch::std(w, at::IntArrayRef{1}, /*unbiased=*/false, /*keepdim=*/true);
        torch::Tensor kept = torch::max(torch::min(w, bound), -bound);
        clipped += (kept != w).sum().item<int64_t>();
        total += w.numel();
        linear.weight.copy_(kept.to(linear.weight.scalar_type()));
      }
    out.metrics["weight_clip.clipped_fraction"] = total ? double(clipped) / double(total) : 0.0;
  }
};

}  // namespace

extern "C" int qlab_plugin_entry(qlab::Registry* registry, int host_abi) {
  if (host_abi != qlab::kPluginAbiVersion) return qlab::kPluginAbiVersion;
  qlab::ParamSpec k;
  k.name = "k";
  k.type = qlab::ParamType::Float;
  k.default_value = "3.0";
  k.min = 0.0;
  k.doc = "clip bound in standard deviations of each weight row";
  registry->add(qlab::MethodInfo{"weight_clip", "clips each weight row to +-k standard deviations (example plugin)",
                                 {k}, [](const qlab::Params& p) { return std::make_unique<WeightClip>(p); }});
  return 0;
}
