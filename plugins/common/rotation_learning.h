// The learned-transform pipeline SpinQuant, OSTQuant, AAQ and ReSpinQuant
// share (QuaRot's placement, learned instead of fixed):
//   fuse norms; R4 (online Hadamard before down_proj) and R3 (on Q/K after
//   RoPE) fixed and baked; R1 (the residual basis, shared by all layers) and
//   one R2 per layer (per head on v/o) from random Hadamards; the quantizers
//   of the step that follows attached (learning_quantizers); trained on the
//   method's loss with a Stiefel optimiser; quantizers off; R1, R2 baked.
//   Layer-wise (ReSpinQuant): a residual basis per layer boundary instead of
//   R1, the skip path's change of basis on the residual hooks (dense while
//   learning, a rank-r orthogonal approximation online afterwards).
//   OSTQuant's transforms (ostquant, aaq): R2 one per KV head, and learnable
//   smoothing scales on the norm-to-linear (q/k/v, gate/up), v/o, up/down and
//   q/k pairs (core/quant/smoothing.h), trained beside the rotations by Adam;
//   R4's weight side then follows the up/down scale instead of being baked first.
//   Initialisation (`init`): random Hadamards, or KLT: the eigenvectors of the
//   weight covariance (R1: sum of W^T W over the residual readers; R2: W_g W_g^T
//   of each value head's rows) times the random Hadamard.
// The loss is the method's choice of plugins/common/learning_loss.h.
// A cached training (same model, data, seed, parameters, quantizers) is
// reused without a step. The method supplies its name, its loss and its
// schema's defaults; everything else is here, once.
#pragma once
#include <string>
#include <vector>

#include "core/learn/train.h"
#include "core/params.h"
#include "core/run_output.h"

namespace qlab {

class Model;
class Workspace;

struct RotationLearning {
  std::string method;   // "spinquant", "aaq": names logs, metrics and the cache
  bool ostquant = false;   // OSTQuant's transforms (R2 per KV head, smoothing scales)
  // -1: one R1 shared by every layer (SpinQuant, AAQ). r >= 0: per-layer
  // bases, their transitions exact while learning and rank-r afterwards
  // (ReSpinQuant; r >= hidden size keeps them exact).
  int64_t layerwise_rank = -1;
  // Parameters used only after learning (ReSpinQuant's rank): left out of the
  // cache key, so an ablation over them trains once.
  std::vector<std::string> after_learning;
};

void learn_rotations(Workspace& ws, RunOutput& out, const Params& p, const RotationLearning& how);

// The schema: calibration, training loop, optimiser and placement parameters.
struct RotationDefaults {
  int64_t nsamples, seqlen, steps, batch;
  std::string lr, optimizer;
  std::string loss = "cross_entropy", init = "hadamard";
  bool scales = false;   // OSTQuant's transforms: the scales' own learning rate
};
std::vector<ParamSpec> rotation_learning_params(const RotationDefaults& d);
// MethodInfo::check part: a quantizing step follows, the calibration text
// holds the windows, nsamples holds one batch, the loss has its inputs
// (check_learning_loss), and scales are learned by radam only.
void check_rotation_learning(const Params& p, Workspace& ws, const std::string& method);

}  // namespace qlab
