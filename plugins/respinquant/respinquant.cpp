// ReSpinQuant (Kim, Wee et al., 2026): a different rotation per layer, fused
// offline, with the one thing fusion cannot fix repaired online. Layer i's
// attention reads the residual in basis A_i, its MLP in B_i, lm_head in A_L
// (and one R2 per layer on v/o, SpinQuant's); the skip path still carries the
// previous basis, so h_mid = h_in T_attn + attn_out with T_attn = A_i^T B_i,
// and T_ffn = B_i^T A_(i+1) around the MLP. While learning (Cayley SGD on the
// fake-quantized cross-entropy, as SpinQuant) the transitions are exact;
// afterwards each is replaced by its orthogonal rank-r approximation
// I + U_r (R - I) U_r^T (U_r: top-r singular vectors of T - I; R: the polar
// factor of U_r^T T U_r), applied online at 2 d r + r^2 multiply-adds a token.
// No public code exists: every choice is a parameter (docs/methods.md).
//   method: [respinquant, gptq]
#include "core/registry.h"
#include "plugins/common/rotation_learning.h"

namespace qlab {
namespace {

constexpr const char* kName = "respinquant";

class ReSpinQuant : public Method {
 public:
  explicit ReSpinQuant(const Params& p) : p_(p) {}
  void apply(Workspace& ws, RunOutput& out) override {
    RotationLearning how{kName, false, p_.get_int("rank"), {"rank"}};
    learn_rotations(ws, out, p_, how);
  }

 private:
  Params p_;
};

std::vector<ParamSpec> respinquant_params() {
  // SpinQuant's training defaults (the paper: 800 WikiText-2 samples).
  auto p = rotation_learning_params({800, 2048, 100, 8, "1.5", "cayley"});
  p.push_back({"rank", ParamType::Int, "32",
               "rank r of each online transition (0: none, the skip keeps its basis; >= hidden size: exact)", false, 0,
               1 << 20});
  return p;
}

QLAB_REGISTER(MethodInfo{kName, "ReSpinQuant: per-layer learned residual bases fused offline, rank-r online transitions; follow with rtn or gptq",
                         respinquant_params(), [](const Params& p) { return std::make_unique<ReSpinQuant>(p); },
                         [](const Params& p, Workspace& ws) { check_rotation_learning(p, ws, kName); }, {}, "spinquant-paper"});

}  // namespace
}  // namespace qlab
