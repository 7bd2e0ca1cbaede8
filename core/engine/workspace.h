// Everything one run works on: the model being transformed, its tokenizer,
// the study's data sets, and a record of what the methods did. Method and
// evaluator plugins receive a Workspace; they load nothing themselves.
//
// Loading is lazy: a run whose plugins never ask for the model never loads it.
// Pristine models are cached across the runs of one process (keyed by path,
// dtype, device) and each run gets its own deep copy, since methods rewrite
// weights in place; reference_model() hands out the pristine one itself.
#pragma once
#include "core/tensor.h"

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/dataset.h"
#include "core/engine/device.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "core/quant/online.h"
#include "core/study.h"

namespace qlab {

class Workspace {
 public:
  explicit Workspace(const RunSpec& run);

  const RunSpec& run() const { return run_; }
  // The run's validated steps, resolved once for the workspace (RunSpec::steps).
  const RunSteps& steps() const { return steps_; }
  uint64_t seed() const { return run_.seed; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

  // The study's `model:`; throws UsageError when the study has none.
  Model& model();
  Tokenizer& tokenizer();
  // The study's `base_model:` (the pre-trained model AAQ pushes away from),
  // in its own dtype and device when its section names them (else the model's).
  Model& base_model();
  // The pristine `model:` (or `base_model:`) as loaded, shared and never
  // copied: a read-only reference (a teacher's logits, a frozen base).
  const Model& reference_model(const char* section = "model");

  // Which method step is being applied (set by apply_methods), and the step
  // after it, if any: a learned method trains against the quantizers of the
  // step that follows it.
  void set_step(size_t index) { step_ = index; }
  const Step* next_step() const {
    return step_ + 1 < steps_.methods.size() ? &steps_.methods[step_ + 1] : nullptr;
  }
  // The chat template named in the study's model section, or detected from the checkpoint.
  std::string chat_template();
  // The `model:` checkpoint's config.json alone, read without its weights
  // (what the checks before any run need).
  const ModelConfig& model_config();

  // A data set declared under the study's `datasets:`; loaded once per run.
  const Dataset& dataset(const std::string& name);

  // Methods append a description of what they did (rotations, quantizer
  // settings, online transforms); stored with the run and written by
  // `qlab quantize` beside the checkpoint.
  nlohmann::json& quant_record() { return quant_record_; }
  // The online transforms and quantizers attached to model() so far.
  OnlineSpec& online() { return online_; }

 private:
  std::string model_field(const char* section, const char* key, const std::string& fallback) const;
  std::string cache_key(const char* section) const;   // "" without that section
  std::shared_ptr<const Model> pristine(const char* section);
  Model& load_model(const char* section, std::unique_ptr<Model>& slot);

  const RunSpec& run_;
  RunSteps steps_;
  torch::Device device_ = torch::kCPU;
  torch::ScalarType dtype_ = torch::kFloat32;
  std::unique_ptr<Model> model_, base_model_;
  std::map<std::string, std::shared_ptr<const Model>> references_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ModelConfig> model_config_;
  std::map<std::string, Dataset> datasets_;
  nlohmann::json quant_record_ = nlohmann::json::array();
  OnlineSpec online_;
  size_t step_ = 0;
};

// Evaluating past the model's context (max_position_embeddings) gives a number
// of no meaning, so it is refused unless the evaluator's `allow_past_context`
// (this parameter, in every evaluator that runs the model over a sequence) is true.
ParamSpec allow_past_context_param();
// Throws UsageError naming the evaluator `p` belongs to and `what` (e.g. "'seqlen' 4096")
// when `tokens` exceeds the model's context and p does not allow it.
void check_context(Workspace& ws, const Params& p, int64_t tokens, const std::string& what);

}  // namespace qlab
