// The learned-rotation pipeline SpinQuant and AAQ share (QuaRot's placement,
// learned instead of fixed):
//   fuse norms; R4 (online Hadamard before down_proj) and R3 (on Q/K after
//   RoPE) fixed and baked; R1 (the residual basis, shared by all layers) and
//   one R2 per layer (per head on v/o) from random Hadamards; the quantizers
//   of the step that follows attached (learning_quantizers); trained on the
//   method's loss with a Stiefel optimiser; quantizers off; R1, R2 baked.
// A cached training (same model, data, seed, parameters, quantizers) is
// reused without a step. The method supplies its name, its loss and its
// schema's defaults; everything else is here, once.
#pragma once
#include <functional>
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
  // The loss of one batch of ids through `model` (rotations and quantizers attached).
  std::function<StepLoss(const Model& model, const torch::Tensor& ids)> loss;
};

void learn_rotations(Workspace& ws, RunOutput& out, const Params& p, const RotationLearning& how);

// The schema: calibration, training loop, optimiser and placement parameters.
struct RotationDefaults {
  int64_t nsamples, seqlen, steps, batch;
  std::string lr, optimizer;
};
std::vector<ParamSpec> rotation_learning_params(const RotationDefaults& d);
// MethodInfo::check part: a quantizing step follows, the calibration text
// holds the windows, and nsamples holds one batch.
void check_rotation_learning(const Params& p, Workspace& ws, const std::string& method);

}  // namespace qlab
