// SpinQuant (Liu et al., 2024): QuaRot's rotation placement with R1 (the
// residual basis, shared by all layers) and R2 (per layer, per head on v/o)
// learned by Cayley SGD on the cross-entropy of the fake-quantized network:
// activations and KV quantized during learning, weights too when rtn follows
// (16-bit when gptq follows, which quantizes them afterwards). R3/R4 are
// fixed online Hadamards; there is no online Hadamard across heads, so the
// following step's o_per_head quantizes o_proj's input in per-head groups.
// The pipeline is plugins/common/rotation_learning.h; `loss: kl | apc` trains
// the same rotations on another objective (plugins/common/learning_loss.h),
// e.g. AAQ's loss on SpinQuant's rotations.
//   method: [spinquant, gptq]
#include "core/registry.h"
#include "plugins/common/rotation_learning.h"

namespace qlab {
namespace {

constexpr const char* kName = "spinquant";

class SpinQuant : public Method {
 public:
  explicit SpinQuant(const Params& p) : p_(p) {}
  void apply(Workspace& ws, RunOutput& out) override { learn_rotations(ws, out, p_, {kName}); }

 private:
  Params p_;
};

// The paper's: lr 1.5, cosine, 100 steps of 8 x 2048 tokens, 800 samples.
QLAB_REGISTER(MethodInfo{kName, "SpinQuant: learned R1/R2 rotations (Cayley SGD), online R3/R4; follow with rtn or gptq",
                         rotation_learning_params({800, 2048, 100, 8, "1.5", "cayley"}),
                         [](const Params& p) { return std::make_unique<SpinQuant>(p); },
                         [](const Params& p, Workspace& ws) { check_rotation_learning(p, ws, kName); }, {}, "spinquant-paper"});

}  // namespace
}  // namespace qlab
