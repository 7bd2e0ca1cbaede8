// The plugin registry: methods, evaluators and datasets, each with a name, a
// one-line description and a parameter schema.
//
// Built-in plugins register from static initialisers (QLAB_REGISTER_*), which
// survive static linking because they are compiled into an object library.
// External plugins are shared libraries exporting one C entry point,
// `qlab_plugin_entry`, loaded with --plugin PATH or QLAB_PLUGIN_PATH.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/params.h"
#include "core/run_output.h"

namespace qlab {

class Workspace;  // the model and everything a run has loaded (core/engine/workspace.h)

// A method transforms the workspace's model in place (rotate, quantize, ...).
// A run's `method:` is a list of steps applied in order. It may record what it
// did in the run's output (a training curve, timings, statistics of learned
// transforms) under keys it prefixes with its own name.
class Method {
 public:
  virtual ~Method() = default;
  virtual void apply(Workspace& ws, RunOutput& out) = 0;
};

// An evaluator reads the model and writes metrics and per-sample arrays.
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual void evaluate(Workspace& ws, RunOutput& out) = 0;
};

struct MethodInfo {
  std::string name, description;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Method>(const Params&)> create;
  // Optional: checks a step's inputs without touching the model (its
  // calibration data exists and is long enough), so that `qlab run` stops on
  // bad input before any run starts. Throws UsageError naming the problem.
  std::function<void(const Params&, Workspace&)> check = nullptr;
  // Optional named settings (preset -> key -> YAML value) chosen by the step's
  // `preset` parameter and resolved at validation: the preset's keys fill
  // those the study leaves out, before the schema's defaults, so the run's
  // config records every resolved value. `preset: auto` takes the
  // `paper_preset` of the nearest earlier step that declares one, else "none".
  std::map<std::string, std::map<std::string, std::string>> presets = {};
  // The preset a later step's `auto` resolves to (a rotation method names its paper's).
  std::string paper_preset = "";
};

struct EvaluatorInfo {
  std::string name, description;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Evaluator>(const Params&)> create;
  // Optional, like MethodInfo::check: inputs checked before any run starts,
  // without loading the weights (a window or a generation past the model's context).
  std::function<void(const Params&, Workspace&)> check = nullptr;
};

struct DatasetInfo {
  std::string name, description;
  std::vector<ParamSpec> params;
  std::function<Dataset(const Params&)> load;
};

class Registry {
 public:
  static Registry& instance();

  // Each throws UsageError on a duplicate name.
  void add(MethodInfo info);
  void add(EvaluatorInfo info);
  void add(DatasetInfo info);

  // Each throws UsageError naming the kind, the unknown name and a "did you mean".
  const MethodInfo& method(const std::string& name) const;
  const EvaluatorInfo& evaluator(const std::string& name) const;
  const DatasetInfo& dataset(const std::string& name) const;

  const std::map<std::string, MethodInfo>& methods() const { return methods_; }
  const std::map<std::string, EvaluatorInfo>& evaluators() const { return evaluators_; }
  const std::map<std::string, DatasetInfo>& datasets() const { return datasets_; }

 private:
  std::map<std::string, MethodInfo> methods_;
  std::map<std::string, EvaluatorInfo> evaluators_;
  std::map<std::string, DatasetInfo> datasets_;
};

// Registers at static-initialisation time:  QLAB_REGISTER(MethodInfo{...});
#define QLAB_REGISTER_CONCAT2(a, b) a##b
#define QLAB_REGISTER_CONCAT(a, b) QLAB_REGISTER_CONCAT2(a, b)
#define QLAB_REGISTER(...)                                                          \
  static const bool QLAB_REGISTER_CONCAT(qlab_registered_, __LINE__) = [] {         \
    ::qlab::Registry::instance().add(__VA_ARGS__);                                  \
    return true;                                                                    \
  }()

// External plugins. Bump when Registry, Method, Evaluator, Workspace or Params
// change layout. The entry point returns 0 when it registered, or its own ABI
// version when host_abi differs (and then registers nothing).
constexpr int kPluginAbiVersion = 6;   // 2: MethodInfo::check; 3: Method::apply gets the RunOutput, weight ops;
                                       // 4: MethodInfo::presets, paper_preset; 5: ParamSpec::is_path,
                                       // EvaluatorInfo::check, Workspace::model_config; 6: RunSpec::steps
                                       // (no steps kept in RunSpec), Workspace::steps
extern "C" {
typedef int (*qlab_plugin_entry_fn)(qlab::Registry* registry, int host_abi);
}

}  // namespace qlab
