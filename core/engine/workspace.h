// Everything one run works on: the model being transformed, its tokenizer,
// the study's data sets, and a record of what the methods did. Method and
// evaluator plugins receive a Workspace; they load nothing themselves.
//
// Loading is lazy: a run whose plugins never ask for the model never loads it.
// Pristine models are cached across the runs of one process (keyed by path,
// dtype, device) and each run gets its own deep copy, since methods rewrite
// weights in place.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/dataset.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "core/quant/online.h"
#include "core/study.h"

namespace qlab {

class Workspace {
 public:
  explicit Workspace(const RunSpec& run);

  const RunSpec& run() const { return run_; }
  uint64_t seed() const { return run_.seed; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

  // The study's `model:`; throws UsageError when the study has none.
  Model& model();
  Tokenizer& tokenizer();
  // The study's `base_model:` (the pre-trained model AAQ pushes away from).
  Model& base_model();
  // The chat template named in the study's model section, or detected from the checkpoint.
  std::string chat_template();

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
  Model& load_model(const char* section, std::unique_ptr<Model>& slot);

  const RunSpec& run_;
  torch::Device device_ = torch::kCPU;
  torch::ScalarType dtype_ = torch::kFloat32;
  std::unique_ptr<Model> model_, base_model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::map<std::string, Dataset> datasets_;
  nlohmann::json quant_record_ = nlohmann::json::array();
  OnlineSpec online_;
};

// "float32" | "bfloat16" | "float16" -> dtype; "cpu" | "cuda" | "cuda:N" -> device.
// Throw UsageError on anything else.
torch::ScalarType parse_dtype(const std::string& name);
torch::Device parse_device(const std::string& name);

// A deep copy: every tensor cloned (tied lm_head stays tied), online ops copied.
Model copy_model(const Model& m);

}  // namespace qlab
