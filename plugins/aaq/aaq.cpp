// AAQ (Wee et al., 2025): alignment-aware PTQ. The rotations are learned on
// the Alignment-Preserving Contrastive loss (core/learn/apc_loss.h) instead
// of the cross-entropy: the fake-quantized model is pulled toward the aligned
// model's next-token distribution (the study's `model:`, full precision, read
// without a copy) and pushed away from the pre-trained base's (`base_model:`,
// frozen). Only activations and KV are quantized while learning when gptq
// follows, as the paper trains. The rotation pipeline is SpinQuant's
// (plugins/common/rotation_learning.h), learned with Riemannian Adam.
//   model: {path: Llama-2-7b-chat-hf}   base_model: {path: Llama-2-7b-hf}
//   method: [aaq, gptq]
// Not yet here: OSTQuant's learnable smoothing scales and per-KV-head R2 (the
// paper trains those too); the rotations carry the whole loss.
#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/learn/apc_loss.h"
#include "core/registry.h"
#include "plugins/common/rotation_learning.h"

namespace qlab {
namespace {

constexpr const char* kName = "aaq";

ApcOptions read_apc(const Params& p) {
  ApcOptions o;
  o.alpha = p.get_float("alpha");
  o.k_pull = p.get_int("k_pull");
  o.k_push = p.get_int("k_push");
  o.renormalise = p.get_bool("renormalise");
  o.push_on_logits = p.get_string("push_set") == "logit";
  return o;
}

class Aaq : public Method {
 public:
  explicit Aaq(const Params& p) : p_(p), apc_(read_apc(p)) {}

  void apply(Workspace& ws, RunOutput& out) override {
    const Model& aligned = ws.reference_model("model");
    const Model& base = ws.reference_model("base_model");
    if (base.config.vocab_size != aligned.config.vocab_size)
      throw UsageError(p_.owner() + ": base_model has a vocabulary of " + std::to_string(base.config.vocab_size) +
                       " tokens, model of " + std::to_string(aligned.config.vocab_size) + " (the pair must share a tokenizer)");
    const ApcOptions apc = apc_;
    learn_rotations(ws, out, p_, {kName, [&aligned, &base, apc](const Model& m, const torch::Tensor& ids) {
                                    auto on = ids.to(m.device);
                                    auto q = m.forward(on);
                                    torch::Tensor ft, pt;
                                    {
                                      torch::NoGradGuard no_grad;
                                      ft = aligned.forward(on);
                                      pt = base.forward(on.to(base.device)).to(m.device);
                                    }
                                    ApcTerms t = apc_loss(q, ft, pt, apc);
                                    return StepLoss{t.loss, {{"pull", t.pull.item<double>()}, {"push", t.push.item<double>()}}};
                                  }});
  }

 private:
  Params p_;
  ApcOptions apc_;
};

std::vector<ParamSpec> aaq_params() {
  // 100 steps of 4 x 2048 tokens as the paper; the learning rate and the
  // window count are our choice (the paper does not state them).
  auto p = rotation_learning_params({400, 2048, 100, 4, "0.01", "radam"});
  std::vector<ParamSpec> own = {
      {"alpha", ParamType::Float, "0.75", "weight of the push term (the authors' sweep: 0.1-1.0)", false, 0.0, 100.0},
      {"k_pull", ParamType::Int, "500", "size of S_top, the aligned model's most likely tokens (authors' code: 1000)", false, 1, 1 << 20},
      {"k_push", ParamType::Int, "500", "size of S_diff, the tokens where aligned and base differ most (sweep: 5-1000)", false, 1, 1 << 20},
      {"renormalise", ParamType::Bool, "true", "renormalise each distribution over its subset (paper; authors' default flag: false)"},
      {"push_set", ParamType::String, "prob", "S_diff by |p_FT - p_PT| (paper) or |logit difference| (authors' code)", false, {}, {}, {"prob", "logit"}},
  };
  for (auto& o : own) p.push_back(o);
  return p;
}

void check_aaq(const Params& p, Workspace& ws) {
  check_rotation_learning(p, ws, kName);
  if (!ws.run().config["base_model"])
    throw UsageError(p.owner() + ": needs `base_model:` (the pre-trained model the quantized one is pushed away from)");
}

QLAB_REGISTER(MethodInfo{kName, "AAQ: rotations learned on the alignment-preserving contrastive loss (aligned model vs base_model); follow with gptq",
                         aaq_params(), [](const Params& p) { return std::make_unique<Aaq>(p); }, check_aaq, {},
                         "spinquant-paper"});

}  // namespace
}  // namespace qlab
