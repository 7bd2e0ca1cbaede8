#include "core/engine/execute.h"

#include <chrono>

#include "core/engine/workspace.h"
#include "core/registry.h"

namespace qlab {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// An evaluator's keys are prefixed with its label ("perplexity.ppl"), so two
// evaluators of one kind on different data sets stay apart.
void merge_prefixed(const std::string& label, RunOutput&& from, RunOutput& into) {
  for (auto& [k, v] : from.metrics) into.metrics[label + "." + k] = v;
  for (auto& [k, v] : from.arrays) into.arrays[label + "." + k] = std::move(v);
  for (auto& [k, v] : from.timing) into.timing[label + "." + k] = v;
}
}  // namespace

void apply_methods(Workspace& ws, RunOutput& out) {
  const std::vector<Step>& methods = ws.steps().methods;
  for (size_t i = 0; i < methods.size(); ++i) {
    const Step& step = methods[i];
    auto method = Registry::instance().method(step.plugin).create(step.params);
    ws.set_step(i);
    auto t0 = std::chrono::steady_clock::now();
    method->apply(ws, out);
    out.timing["method." + std::to_string(i) + "." + step.plugin] = seconds_since(t0);
  }
}

RunOutput execute_run(const RunSpec& run) {
  torch::manual_seed(run.seed);
  Workspace ws(run);
  RunOutput out;
  apply_methods(ws, out);
  for (const Step& step : ws.steps().evaluators) {
    auto evaluator = Registry::instance().evaluator(step.plugin).create(step.params);
    std::string label = step.params.has("label") ? step.params.get_string("label") : step.plugin;
    RunOutput local;
    auto t0 = std::chrono::steady_clock::now();
    evaluator->evaluate(ws, local);
    local.timing["total"] = seconds_since(t0);
    merge_prefixed(label, std::move(local), out);
  }
  return out;
}

void check_study_inputs(const Study& study) {
  for (const RunSpec& run : study.runs) {
    Workspace ws(run);
    const RunSteps& steps = ws.steps();
    for (const auto& entry : steps.datasets) ws.dataset(entry.first);
    for (size_t i = 0; i < steps.methods.size(); ++i) {
      ws.set_step(i);
      if (const auto& check = Registry::instance().method(steps.methods[i].plugin).check) check(steps.methods[i].params, ws);
    }
    for (const Step& step : steps.evaluators)
      if (const auto& check = Registry::instance().evaluator(step.plugin).check) check(step.params, ws);
  }
}

std::string run_device(const RunSpec& run) {
  YAML::Node m = run.config()["model"];
  return (m && m["device"]) ? m["device"].as<std::string>() : "cpu";
}

}  // namespace qlab
