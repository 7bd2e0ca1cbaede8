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
#include "evaluation/refusal/refusal_scores.h"

namespace qlab {
namespace {

class Refusal : public Evaluator {
 public:
  explicit Refusal(const Params& p)
      : dataset_(p.get_string("dataset")), limit_(p.get_int("limit")), judge_(refusal_judge_config(p)),
        gen_(generation_options(p)) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    std::vector<Example> examples = prompt_examples(ws.dataset(dataset_), dataset_, limit_);
    std::vector<std::string> prompts, labels;
    for (const auto& e : examples) prompts.push_back(e.prompt), labels.push_back(e.label);
    GenerationOptions g = gen_;
    g.chat_template = ws.chat_template();
    g.seed = ws.seed();
    std::vector<std::string> responses = generate_responses(ws.model(), ws.tokenizer(), prompts, g, "refusal " + dataset_);

    score_refusals(judge_, prompts, responses, labels, out);
    out.metrics["max_new_tokens"] = double(gen_.max_new_tokens);
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
      {"limit", ParamType::Int, "0", "use the first N prompts (0: all)", false, 0.0},
  };
  for (auto& s : refusal_score_params()) p.push_back(s);
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
