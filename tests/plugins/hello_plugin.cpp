// A minimal external plugin: one method and one evaluator, registered through
// the C entry point that qlab calls after dlopen().
#include "core/registry.h"

#ifdef WRONG_ABI
constexpr int kBuiltFor = 7;  // pretends to come from another qlab version
#else
constexpr int kBuiltFor = qlab::kPluginAbiVersion;
#endif

namespace {

struct Nothing : qlab::Method {
  void apply(qlab::Workspace&, qlab::RunOutput&) override {}
};

// Reports its `answer` parameter; reads nothing from the model.
struct Answer : qlab::Evaluator {
  double answer;
  explicit Answer(const qlab::Params& p) : answer(p.get_float("answer")) {}
  void evaluate(qlab::Workspace&, qlab::RunOutput& out) override { out.metrics["answer"] = answer; }
};

}  // namespace

extern "C" int qlab_plugin_entry(qlab::Registry* registry, int host_abi) {
  if (host_abi != kBuiltFor) return kBuiltFor;
  qlab::ParamSpec greeting;
  greeting.name = "greeting";
  greeting.default_value = "hello";
  greeting.doc = "what the method would say";
  registry->add(qlab::MethodInfo{"hello_method", "out-of-tree example method (changes nothing)", {greeting},
                                 [](const qlab::Params&) { return std::make_unique<Nothing>(); }});
  qlab::ParamSpec answer;
  answer.name = "answer";
  answer.type = qlab::ParamType::Float;
  answer.default_value = "42";
  answer.doc = "the metric it reports";
  registry->add(qlab::EvaluatorInfo{"hello_answer", "out-of-tree example evaluator", {answer},
                                    [](const qlab::Params& p) { return std::make_unique<Answer>(p); }});
  return 0;
}
