// GPTQ (Frantar et al.): layer-wise, true-sequential weight quantization from
// calibration windows; then the activation / KV fake quantizers. Calibration
// sees online Hadamards already attached (QuaRot) but no activation quantizer.
#include "core/engine/workspace.h"
#include "core/quant/online.h"
#include "core/quant/quantize_model.h"
#include "core/registry.h"
#include "plugins/common/calibration_data.h"

namespace qlab {
namespace {

class Gptq : public Method {
 public:
  explicit Gptq(const Params& p) : p_(p), weights_(read_weight_quant(p)) {
    options_.gptq.percdamp = p.get_float("percdamp");
    options_.gptq.blocksize = p.get_int("blocksize");
    options_.gptq.act_order = p.get_bool("act_order");
    options_.gptq.static_groups = p.get_bool("static_groups");
    options_.batch_size = p.get_int("batch_size");
  }

  void apply(Workspace& ws, RunOutput&) override {
    Model& model = ws.model();
    torch::Tensor calibration = calibration_windows(ws, p_);
    quantize_weights_gptq(model, weights_, calibration, options_);
    read_activation_quant(p_, model, ws.online());
    attach_quantizers(model, ws.online());
    ws.quant_record().push_back({{"step", "gptq"},
                                 {"preset", p_.get_string("preset")},
                                 {"weights", weights_.describe()},
                                 {"nsamples", calibration.size(0)},
                                 {"seqlen", calibration.size(1)},
                                 {"percdamp", options_.gptq.percdamp},
                                 {"act_order", options_.gptq.act_order}});
  }

 private:
  Params p_;
  QuantConfig weights_;
  GptqRunOptions options_;
};

std::vector<ParamSpec> gptq_params() {
  auto p = weight_quant_params();
  for (auto& c : calibration_params(128, 2048)) p.push_back(c);
  std::vector<ParamSpec> own = {
      {"percdamp", ParamType::Float, "0.01", "dampening, as a fraction of mean(diag H)", false, 0.0, 1.0},
      {"blocksize", ParamType::Int, "128", "columns per lazy batch update", false, 1, 1 << 16},
      {"act_order", ParamType::Bool, "false", "quantize columns by decreasing diag(H)"},
      {"static_groups", ParamType::Bool, "false", "group grids fixed from the original weights"},
      {"batch_size", ParamType::Int, "8", "calibration windows per forward pass", false, 1, 4096},
  };
  for (auto& o : own) p.push_back(o);
  for (auto& a : activation_quant_params()) p.push_back(a);
  p.push_back(quantizer_preset_param());
  return p;
}

QLAB_REGISTER(MethodInfo{"gptq", "GPTQ weight quantization (layer-wise, true-sequential); activation and KV fake quantizers",
                         gptq_params(), [](const Params& p) { return std::make_unique<Gptq>(p); }, check_calibration,
                         quantizer_presets()});

}  // namespace
}  // namespace qlab
