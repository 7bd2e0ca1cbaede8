// The loss a learned-transform method trains on, chosen apart from its
// transforms: every learned method (spinquant, ostquant, respinquant, aaq)
// takes `loss: cross_entropy | kl | apc` with one set of parameters, so that
// e.g. SpinQuant's rotations on AAQ's loss is one line of a study.
//   cross_entropy  next-token cross-entropy of the fake-quantized model
//   kl             KL(p_target || p_Q) over the vocabulary or its top kl_topk (OSTQuant)
//   apc            AAQ's contrastive loss (core/learn/apc_loss.h) against the
//                  pull target and the study's base_model
// The pull target (kl's teacher, apc's p_FT) is `self`: the same network with
// quantizers off (the transforms preserve its function; the default, as the
// AAQ paper), or `model`: the study's model as loaded (a separate network in
// memory; differs from self by what fuse_norms' embedding centring changes).
// Teacher cache (apc, `teacher_cache: true`, the default): the two teachers'
// top-K targets (core/learn/apc_loss.h ApcTargets: S_top with log p_FT, S_diff
// with log p_PT; int32 indices, float32 log-probs, 8 (k_pull + k_push) bytes
// per position, on the CPU) are computed once over all calibration windows
// before the first step and stored in the run's cache_dir as
// teacher-<hash>.safetensors, keyed by the model and base_model sections and
// files, the calibration data and seed, nsamples, seqlen, k_pull, k_push,
// push_set, pull_target and subtract_embedding_mean; training then reads only
// them: the base model is not loaded by a run that finds the file, and no
// teacher forward runs in any step. A file whose key or shapes are not this
// run's is refused naming it. `teacher_cache: false` runs both teachers every
// step (the base resident).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/learn/train.h"
#include "core/params.h"

namespace qlab {

class Model;
class Workspace;

// The loss of batch `step` of the calibration windows (training_batch) through `model`.
using LearningLoss = std::function<StepLoss(Model& model, int64_t step)>;

std::vector<ParamSpec> learning_loss_params(const std::string& default_loss);
// MethodInfo::check part, before any run: apc needs `base_model:`; k_pull,
// k_push and kl_topk within the vocabulary of `model:` (read from its config).
void check_learning_loss(const Params& p, Workspace& ws);
// The loss the parameters choose; `base_model:` and a `model` pull target are
// taken from the workspace (read-only, loaded once).
LearningLoss make_learning_loss(Workspace& ws, const Params& p, const torch::Tensor& windows, int64_t batch);
// What the run records about the loss (the quant record's "loss" entry).
std::string describe_learning_loss(const Params& p);

}  // namespace qlab
