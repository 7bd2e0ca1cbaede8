// Refusal rate with a keyword judge (GCG / XSTest protocols, docs/evaluators.md):
// generate from each chat-formatted prompt, call the response a refusal when
// the judge's strings match it, report refusal_rate and attack_success_rate =
// 1 - refusal_rate. On data labelled safe/unsafe (XSTest) also the rates per
// label: refusal on safe prompts is over-refusal (lower is better), on unsafe
// prompts it is wanted (higher is better).
#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/registry.h"
#include "evaluation/common/generation.h"
#include "evaluation/common/refusal_judge.h"

namespace qlab {
namespace {

// The preset, with match mode and case overridden where the study says so.
RefusalJudgeConfig judge_config(const Params& p) {
  std::string judge = p.get_string("judge");
  std::vector<std::string> strings = p.get_string_list("strings");
  RefusalJudgeConfig c;
  if (judge == "custom") {
    if (strings.empty()) throw UsageError("refusal: judge 'custom' needs a non-empty `strings` list");
    c.strings = strings;   // GCG's rule (case-sensitive substring) unless overridden below
  } else {
    if (!strings.empty()) throw UsageError("refusal: `strings` is only read with judge 'custom' (judge is '" + judge + "')");
    c = refusal_preset(judge);
  }
  std::string match = p.get_string("match");
  if (match != "preset") c.mode = match == "prefix" ? MatchMode::Prefix : MatchMode::Substring;
  std::string cs = p.get_string("case_sensitive");
  if (cs != "preset") c.case_sensitive = cs == "true";
  return c;
}

class Refusal : public Evaluator {
 public:
  explicit Refusal(const Params& p)
      : dataset_(p.get_string("dataset")), limit_(p.get_int("limit")), judge_(judge_config(p)),
        gen_(generation_options(p)) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    std::vector<Example> examples = prompt_examples(ws.dataset(dataset_), dataset_, limit_);
    std::vector<std::string> prompts, labels;
    for (const auto& e : examples) prompts.push_back(e.prompt), labels.push_back(e.label);
    GenerationOptions g = gen_;
    g.chat_template = ws.chat_template();
    g.seed = ws.seed();
    std::vector<std::string> responses = generate_responses(ws.model(), ws.tokenizer(), prompts, g, "refusal " + dataset_);

    std::vector<int64_t> refused;
    std::vector<std::string> matched;
    // Counts per label: [refusals, prompts]; "" collects everything.
    std::map<std::string, std::pair<int64_t, int64_t>> count;
    for (size_t i = 0; i < responses.size(); ++i) {
      auto m = judge_.match(responses[i]);
      refused.push_back(m ? 1 : 0);
      matched.push_back(m.value_or(""));
      count[""].first += refused.back(), count[""].second += 1;
      if (!labels[i].empty()) count[labels[i]].first += refused.back(), count[labels[i]].second += 1;
    }
    auto [r, n] = count[""];
    out.metrics["refusal_rate"] = double(r) / n;
    out.metrics["attack_success_rate"] = 1.0 - double(r) / n;
    out.metrics["n"] = double(n);
    out.metrics["max_new_tokens"] = double(gen_.max_new_tokens);
    for (const char* label : {"safe", "unsafe"}) {
      auto it = count.find(label);
      if (it == count.end()) continue;
      out.metrics[std::string("refusal_rate_") + label] = double(it->second.first) / it->second.second;
      out.metrics[std::string("n_") + label] = double(it->second.second);
    }
    out.arrays["prompts"] = prompts;
    out.arrays["responses"] = responses;
    out.arrays["refused"] = refused;
    out.arrays["matched"] = matched;
    out.arrays["labels"] = labels;
  }

 private:
  std::string dataset_;
  int64_t limit_;
  RefusalJudge judge_;
  GenerationOptions gen_;
};

std::vector<ParamSpec> refusal_params() {
  std::vector<ParamSpec> p = {
      {"dataset", ParamType::String, "", "name of a prompt set under `datasets:` (advbench, xstest, jsonl_prompts, ...)", true},
      {"judge", ParamType::String, "gcg", "refusal strings: a preset, or custom (then `strings`)", false, {}, {},
       {"gcg", "gcg-short", "xstest", "custom"}},
      {"strings", ParamType::StringList, "[]", "refusal strings of the custom judge"},
      {"match", ParamType::String, "preset", "substring: anywhere; prefix: the response starts with it; preset: the judge's own",
       false, {}, {}, {"preset", "substring", "prefix"}},
      {"case_sensitive", ParamType::String, "preset", "true | false | preset (the judge's own; custom: true)", false, {}, {},
       {"preset", "true", "false"}},
      {"limit", ParamType::Int, "0", "use the first N prompts (0: all)", false, 0.0},
  };
  for (auto& s : generation_params(64)) p.push_back(s);
  return p;
}

QLAB_REGISTER(EvaluatorInfo{
    "refusal",
    "refusal / attack-success rate of generated responses under a keyword judge (GCG, XSTest presets)",
    refusal_params(),
    [](const Params& p) { return std::make_unique<Refusal>(p); }, check_generation_context});

}  // namespace
}  // namespace qlab
