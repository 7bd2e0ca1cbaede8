#include "core/registry.h"

#include <algorithm>

#include "core/error.h"
#include "core/suggest.h"
#include "core/validate.h"

namespace qlab {

// Defined here, not inline, so that there is one registry in the process:
// external plugins resolve this symbol from the qlab executable.
Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

namespace {

template <class Info>
void insert(std::map<std::string, Info>& all, Info info, const std::string& kind) {
  if (info.name.empty()) throw UsageError("a " + kind + " plugin has no name");
  std::string what = kind + " '" + info.name + "'";
  if (all.count(info.name)) throw UsageError(what + " is already registered");
  check_schema(info.params, what);
  all.emplace(info.name, std::move(info));
}

template <class Info>
const Info& find(const std::map<std::string, Info>& all, const std::string& name, const std::string& kind) {
  auto it = all.find(name);
  if (it != all.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, info] : all) names.push_back(n);
  std::string hint = names.empty() ? " (no " + kind + "s are registered)" : did_you_mean(name, names);
  throw UsageError("unknown " + kind + " '" + name + "'" + hint);
}

}  // namespace

// A preset may only set keys of the method's own schema.
void Registry::add(MethodInfo info) {
  for (const auto& [preset, settings] : info.presets)
    for (const auto& [key, value] : settings)
      if (std::none_of(info.params.begin(), info.params.end(), [&](const ParamSpec& s) { return s.name == key; }))
        throw UsageError("method '" + info.name + "': preset '" + preset + "' sets '" + key + "', not a parameter");
  insert(methods_, std::move(info), "method");
}
void Registry::add(DatasetInfo info) { insert(datasets_, std::move(info), "dataset"); }

// Every evaluator gets the reserved parameter `label`: the prefix of its metric
// names, so that two perplexity evaluators on different data sets do not collide.
void Registry::add(EvaluatorInfo info) {
  bool has_label = false;
  for (const auto& p : info.params) has_label |= p.name == "label";
  if (!has_label) {
    ParamSpec label;
    label.name = "label";
    label.type = ParamType::String;
    label.default_value = "'" + info.name + "'";
    label.doc = "prefix of this evaluator's metric names";
    info.params.push_back(label);
  }
  insert(evaluators_, std::move(info), "evaluator");
}

const MethodInfo& Registry::method(const std::string& name) const { return find(methods_, name, "method"); }
const EvaluatorInfo& Registry::evaluator(const std::string& name) const {
  return find(evaluators_, name, "evaluator");
}
const DatasetInfo& Registry::dataset(const std::string& name) const { return find(datasets_, name, "dataset"); }

}  // namespace qlab
