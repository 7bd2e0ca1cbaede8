// What every learned-transform method (spinquant, and the ones built like it)
// shares: the quantizers it learns against (those of the step that follows
// it, so that one place states them), the cache of learned transforms keyed by
// everything the learning read, and the record of the training in the run.
#pragma once
#include "core/tensor.h"

#include <map>
#include <optional>
#include <string>

#include "core/engine/workspace.h"
#include "core/learn/train.h"
#include "core/params.h"
#include "core/quant/online.h"
#include "core/run_output.h"

namespace qlab {

// The quantizers of the step after this one (rtn or gptq): activation and KV
// settings into `online`; weights only when that step rounds to nearest (GPTQ
// quantizes the weights afterwards, so they are learned in 16 bits). UsageError
// when no quantizing step follows.
struct LearningQuantizers {
  OnlineSpec online;
  QuantConfig weights;            // bits 16: weights stay in full precision
};
LearningQuantizers learning_quantizers(Workspace& ws, const std::string& method);
// MethodInfo::check part: a quantizing step follows `method`.
void check_followed_by_quantizer(Workspace& ws, const std::string& method);

// Attaches `q` as ops tagged kQuantTag (online quantizers, and a straight-through
// fake quantizer after the weight ops of every decoder linear), so that
// Model::detach(kQuantTag) takes them all off again.
void attach_learning_quantizers(Model& model, const LearningQuantizers& q);

// Takes every op tagged kQuantTag off the model for its lifetime and puts each
// back where it was: the same network with quantizers off (the pull target
// `self` of the learned losses: the transforms preserve the function).
class QuantizersOff {
 public:
  explicit QuantizersOff(Model& model);
  ~QuantizersOff();
  QuantizersOff(const QuantizersOff&) = delete;
  QuantizersOff& operator=(const QuantizersOff&) = delete;

 private:
  template <class Op>
  struct Removed {
    std::vector<Op>* list;
    size_t index;
    Op op;
  };
  std::vector<Removed<OnlineOp>> online_;
  std::vector<Removed<WeightOp>> weight_;
};

// Learned transforms by the hash of everything their learning depended on:
// the model section (and base_model's), the calibration data set (and data_root), the contents of
// the checkpoint and calibration files (core/fingerprint.h), the seed, this
// step's parameters and the quantizers it learns against (not the rest of the
// following step: a sweep over GPTQ's bit-width reuses one training), less
// the parameters named not_learned (used only afterwards). Files live
// in the run's cache_dir as <key>.safetensors; a training in progress keeps
// <key>.partial.safetensors beside it.
struct TransformCache {
  std::string key, path, partial_path;
  std::optional<std::map<std::string, torch::Tensor>> load() const;   // UsageError naming a corrupt file
  void store(const std::map<std::string, torch::Tensor>& tensors) const;
};
TransformCache transform_cache(Workspace& ws, const Params& p, const std::string& method, const LearningQuantizers& q,
                               const std::vector<std::string>& not_learned = {});

// Calibration windows for training: [nsamples, seqlen] and the [batch, seqlen]
// ids of step i (consecutive windows, wrapping around).
torch::Tensor training_batch(const torch::Tensor& windows, int64_t batch, int64_t step);
// The indices of those windows.
torch::Tensor batch_windows(int64_t nwindows, int64_t batch, int64_t step);

// Next-token cross-entropy of ids under model (mean over positions).
torch::Tensor next_token_loss(const Model& model, const torch::Tensor& ids);
// Mean of loss(i) over the first (up to) four batches i of the windows,
// without grad: TrainOptions::probe for these methods (the same windows
// before and after training).
double held_loss(const torch::Tensor& windows, int64_t batch, const std::function<torch::Tensor(int64_t)>& loss);

// Writes the training into the run: <method>.loss per step (and each term),
// <method>.loss_first / loss_last / probe_loss_before / probe_loss_after /
// steps_run / resumed_at, timing and the cache key.
void record_training(RunOutput& out, const std::string& method, const TrainResult& r, const TransformCache& cache);

// The schema entries of the training loop: steps, lr, schedule, batch, checkpoint_layers.
std::vector<ParamSpec> training_params(const std::string& default_lr, int64_t default_steps, int64_t default_batch);
TrainOptions read_training(const Params& p, const std::string& method);

}  // namespace qlab
