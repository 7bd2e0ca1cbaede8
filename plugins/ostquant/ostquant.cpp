// OSTQuant (Hu et al., ICLR 2025): orthogonal and scaling transforms learned
// together. SpinQuant's placement (a global residual rotation R1, fixed online
// Hadamards on Q/K after RoPE and before down_proj) with R2 one rotation per
// KV head between v and o, and learnable diagonal smoothing scales on the
// norm-to-linear (q/k/v and gate/up inputs), v/o, up/down and q/k pairs,
// each exact with quantizers off. Rotations by Riemannian Adam, scales by
// Adam (their own learning rate, scale_lr), initialised as the paper: the
// KLT of the weight covariance times a random Hadamard (`init: hadamard` for
// the plain random Hadamard). Loss: KL to the full-precision model, over the
// whole vocabulary or its top kl_topk. Then bake, and rtn or gptq.
// The pipeline is plugins/common/rotation_learning.h.
//   method: [ostquant, gptq]
#include "core/registry.h"
#include "plugins/common/rotation_learning.h"

namespace qlab {
namespace {

constexpr const char* kName = "ostquant";

class OstQuant : public Method {
 public:
  explicit OstQuant(const Params& p) : p_(p) {}
  void apply(Workspace& ws, RunOutput& out) override { learn_rotations(ws, out, p_, {kName, /*ostquant=*/true}); }

 private:
  Params p_;
};

// The paper's setting: 100 steps of 4 x 2048 WikiText-2 tokens (AAQ trains
// the same); the learning rates are our choice (docs/methods.md).
QLAB_REGISTER(MethodInfo{kName, "OSTQuant: learned R1, per-KV-head R2 and smoothing scales (Riemannian Adam, KL loss); follow with rtn or gptq",
                         rotation_learning_params({400, 2048, 100, 4, "0.01", "radam", "kl", "klt", true}),
                         [](const Params& p) { return std::make_unique<OstQuant>(p); },
                         [](const Params& p, Workspace& ws) { check_rotation_learning(p, ws, kName); }, {}, "spinquant-paper"});

}  // namespace
}  // namespace qlab
