// RTN: round-to-nearest weights, plus the activation / KV fake quantizers.
// No calibration data.
#include "core/engine/workspace.h"
#include "core/quant/online.h"
#include "core/quant/quantize_model.h"
#include "core/registry.h"

namespace qlab {
namespace {

class Rtn : public Method {
 public:
  explicit Rtn(const Params& p) : p_(p), weights_(read_weight_quant(p)) {}
  void apply(Workspace& ws, RunOutput&) override {
    Model& model = ws.model();
    quantize_weights_rtn(model, weights_);
    read_activation_quant(p_, model, ws.online());
    attach_quantizers(model, ws.online());
    ws.quant_record().push_back(
        {{"step", "rtn"}, {"preset", p_.get_string("preset")}, {"weights", weights_.describe()}});
  }

 private:
  Params p_;
  QuantConfig weights_;
};

std::vector<ParamSpec> rtn_params() {
  auto p = weight_quant_params();
  for (auto& a : activation_quant_params()) p.push_back(a);
  p.push_back(quantizer_preset_param());
  return p;
}

QLAB_REGISTER(MethodInfo{"rtn", "round-to-nearest weights; activation and KV-cache fake quantizers", rtn_params(),
                         [](const Params& p) { return std::make_unique<Rtn>(p); }, nullptr, quantizer_presets()});

}  // namespace
}  // namespace qlab
