// AAQ (Wee et al., 2025): alignment-aware PTQ, the paper's pairing of
// OSTQuant's transforms (plugins/ostquant: R1, per-KV-head R2, smoothing
// scales, KLT initialisation, Riemannian Adam) with the Alignment-Preserving
// Contrastive loss (core/learn/apc_loss.h): the fake-quantized model is pulled
// toward the aligned model's next-token distribution (the same network with
// quantizers off, or `pull_target: model`) and pushed away from the pre-trained
// base's (`base_model:`, frozen, read without a copy). Only activations and KV
// are quantized while learning when gptq follows, as the paper trains. Both
// terms are logged per step; a diverging push term stops the run
// (divergence_factor). SpinQuant's rotations on this loss: spinquant with loss: apc.
//   model: {path: Llama-2-7b-chat-hf}   base_model: {path: Llama-2-7b-hf}
//   method: [aaq, gptq]
#include "core/registry.h"
#include "plugins/common/rotation_learning.h"

namespace qlab {
namespace {

constexpr const char* kName = "aaq";

class Aaq : public Method {
 public:
  explicit Aaq(const Params& p) : p_(p) {}
  void apply(Workspace& ws, RunOutput& out) override { learn_rotations(ws, out, p_, {kName, /*ostquant=*/true}); }

 private:
  Params p_;
};

// 100 steps of 4 x 2048 tokens as the paper; the learning rates and the
// window count are our choice (the paper does not state them).
QLAB_REGISTER(MethodInfo{kName, "AAQ: OSTQuant transforms learned on the alignment-preserving contrastive loss (model vs base_model); follow with gptq",
                         rotation_learning_params({400, 2048, 100, 4, "0.01", "radam", "apc", "klt", true}),
                         [](const Params& p) { return std::make_unique<Aaq>(p); },
                         [](const Params& p, Workspace& ws) { check_rotation_learning(p, ws, kName); }, {}, "spinquant-paper"});

}  // namespace
}  // namespace qlab
