// Plugins for tests: a method, an evaluator and a data set that need no model,
// so CLI tests can run whole studies in milliseconds. Loaded with --plugin.
#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/registry.h"

using namespace qlab;

namespace {

ParamSpec param(const char* name, ParamType type, const char* default_value, const char* doc) {
  ParamSpec p;
  p.name = name;
  p.type = type;
  p.default_value = default_value;
  p.doc = doc;
  return p;
}

// Exercises the method pipeline and its parameters; leaves the model untouched.
// With steps > 0 it records a training as learned methods do
// (plugins/common/learned.h): test_scale.loss and two terms, one per step.
struct TestScale : Method {
  double factor;
  int64_t steps;
  explicit TestScale(const Params& p) : factor(p.get_float("factor")), steps(p.get_int("steps")) {}
  void apply(Workspace&, RunOutput& out) override {
    if (steps == 0) return;
    std::vector<double> loss, pull, push;
    for (int64_t i = 0; i < steps; ++i) {
      pull.push_back(factor / double(i + 1));
      push.push_back(-0.5 * factor);
      loss.push_back(pull.back() + push.back());
    }
    out.arrays["test_scale.loss"] = loss;
    out.arrays["test_scale.pull"] = pull;
    out.arrays["test_scale.push"] = push;
  }
};

// Writes the metric `value` (named `metric`) and two arrays without touching
// the model (the workspace loads the model lazily, so a study using only this
// needs none).
struct TestConstant : Evaluator {
  double value;
  std::string metric;
  bool fail;
  int64_t sleep_ms;
  explicit TestConstant(const Params& p)
      : value(p.get_float("value")), metric(p.get_string("metric")), fail(p.get_bool("fail")),
        sleep_ms(p.get_int("sleep_ms")) {}
  void evaluate(Workspace&, RunOutput& out) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (fail) throw std::runtime_error("test_constant failed on purpose (fail: true)");
    out.metrics[metric] = value;
    out.arrays["strings"] = std::vector<std::string>{"first", "second"};
    out.arrays["doubles"] = std::vector<double>{value, 2 * value};
  }
};

}  // namespace

extern "C" int qlab_plugin_entry(Registry* registry, int host_abi) {
  if (host_abi != kPluginAbiVersion) return kPluginAbiVersion;
  ParamSpec factor = param("factor", ParamType::Float, "1.0", "scale factor (unused: the model is not touched)");
  factor.min = 0;
  ParamSpec steps = param("steps", ParamType::Int, "0", "training steps to record (arrays test_scale.loss, .pull, .push)");
  steps.min = 0;
  registry->add(MethodInfo{"test_scale", "test method: does nothing with a factor", {factor, steps},
                           [](const Params& p) { return std::make_unique<TestScale>(p); }});
  registry->add(EvaluatorInfo{"test_constant", "test evaluator: reports a constant, or fails, or sleeps",
                              {param("value", ParamType::Float, "1.0", "the metric `value` it reports"),
                               param("metric", ParamType::String, "value", "the metric's name (label.metric)"),
                               param("fail", ParamType::Bool, "false", "throw instead of reporting"),
                               param("sleep_ms", ParamType::Int, "0", "milliseconds to wait first")},
                              [](const Params& p) { return std::make_unique<TestConstant>(p); }});
  ParamSpec count = param("count", ParamType::Int, "3", "number of lines");
  count.min = 0;
  registry->add(DatasetInfo{"test_lines", "test data set: lines 'line 0', 'line 1', ...", {count},
                            [](const Params& p) {
                              Dataset d;
                              d.name = "test_lines";
                              for (int64_t i = 0; i < p.get_int("count"); ++i) {
                                std::string line = "line " + std::to_string(i);
                                d.text += line + "\n";
                                d.examples.push_back(Example{std::to_string(i), line});
                              }
                              return d;
                            }});
  return 0;
}
