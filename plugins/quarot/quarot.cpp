// QuaRot (Ashkboos et al., 2024): rotations that leave the full-precision
// function unchanged and spread outliers, so that 4-bit activations work.
//   fuse RMSNorm scales; R1 (random Hadamard or random orthogonal) on the
//   residual stream; R2 per-head Hadamard on v/o; R4 online Hadamard before
//   down_proj; R3 online Hadamard on Q/K after RoPE; an online Hadamard across
//   heads before o_proj. Compose with `rtn` or `gptq` for the quantizers.
#include <spdlog/spdlog.h>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/quant/hadamard.h"
#include "core/quant/online.h"
#include "core/quant/orthogonal.h"
#include "core/quant/rotation.h"
#include "core/registry.h"

namespace qlab {
namespace {

// R1 of order n: a randomised Hadamard where a construction exists, else the
// orthogonal fallback of plan_hadamard with random signs (said in the record).
std::pair<torch::Tensor, std::string> residual_rotation(int64_t n, const std::string& mode, uint64_t seed) {
  if (mode == "random") return {random_orthogonal(n, seed), "random orthogonal " + std::to_string(n)};
  HadamardPlan plan = plan_hadamard(n, /*allow_orthogonal_fallback=*/true, seed);
  return {random_hadamard_matrix(plan, seed), "random-sign " + plan.description};
}

class QuaRot : public Method {
 public:
  explicit QuaRot(const Params& p) : p_(p) {}

  // Attach the rotations as weight ops, then bake them: the same matrices a
  // learned method trains, here fixed.
  void apply(Workspace& ws, RunOutput&) override {
    Model& model = ws.model();
    torch::NoGradGuard no_grad;
    fuse_norms(model, p_.get_bool("subtract_embedding_mean"));
    auto [r1, r1_desc] = residual_rotation(model.config.hidden_size, p_.get_string("rotate_mode"), ws.seed());
    attach_residual_rotation(model, shared_basis(r1, model.layers.size()), "quarot");
    attach_value_rotation(model, std::vector<torch::Tensor>(model.layers.size(), hadamard_matrix(model.config.head_dim)),
                          "quarot");
    OnlineSpec& spec = ws.online();
    spec.seed = ws.seed();
    spec.down_hadamard = p_.get_bool("online_down_hadamard");
    spec.qk_hadamard = p_.get_bool("online_qk_hadamard");
    spec.o_hadamard = p_.get_bool("online_o_hadamard");
    attach_online_hadamard_weights(model, spec, "quarot");
    model.bake();
    attach_online_hadamards(model, spec, "quarot");
    ws.quant_record().push_back({{"step", "quarot"}, {"r1", r1_desc}, {"online", spec.to_json()}});
    spdlog::info("quarot: R1 {}, R2 H_{}", r1_desc, model.config.head_dim);
  }

 private:
  Params p_;
};

QLAB_REGISTER(MethodInfo{
    "quarot",
    "QuaRot rotations (fused R1, R2; online R3, R4 Hadamards); follow with rtn or gptq",
    {
        {"rotate_mode", ParamType::String, "hadamard", "R1: randomised Hadamard or Haar-random orthogonal", false, {}, {}, {"hadamard", "random"}},
        {"subtract_embedding_mean", ParamType::Bool, "true", "centre embedding rows when fusing norms (the public codes do)"},
        {"online_down_hadamard", ParamType::Bool, "true", "R4: online Hadamard before down_proj"},
        {"online_qk_hadamard", ParamType::Bool, "true", "R3: online Hadamard on Q and K after RoPE"},
        {"online_o_hadamard", ParamType::Bool, "true", "online Hadamard across heads before o_proj"},
    },
    [](const Params& p) { return std::make_unique<QuaRot>(p); }, nullptr, {}, "quarot-paper"});

}  // namespace
}  // namespace qlab
