// Model-judged safety: the evaluated model answers the data set's prompts
// (chat-formatted, evaluation/common/generation.h), then a judge causal LM
// (LlamaGuard, HarmBench's classifier, or any checkpoint with a custom
// template) reads each (prompt, response) pair and answers; verdict.h turns its
// answer into unsafe / safe / unparsed (judge_scores.h).
//
// The judge generates its own responses rather than reading another
// evaluator's: evaluators of one run do not see each other's outputs, and
// regenerating greedily gives the same text a `refusal` evaluator with the
// same generation settings saw.
#include "core/engine/workspace.h"
#include "core/registry.h"
#include "evaluation/common/generation.h"
#include "evaluation/judge/judge_scores.h"

namespace qlab {
namespace {

class Judge : public Evaluator {
 public:
  explicit Judge(const Params& p)
      : dataset_(p.get_string("dataset")), limit_(p.get_int("limit")), scorer_(p), gen_(generation_options(p)) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    std::vector<Example> examples = prompt_examples(ws.dataset(dataset_), dataset_, limit_);
    std::vector<std::string> prompts;
    for (const auto& e : examples) prompts.push_back(e.prompt);
    GenerationOptions g = gen_;
    g.chat_template = ws.chat_template();
    g.seed = ws.seed();
    std::vector<std::string> responses = generate_responses(ws.model(), ws.tokenizer(), prompts, g, "judge " + dataset_);
    // The judge runs on the study's device and dtype.
    scorer_.score(prompts, responses, ws.device(), ws.dtype(), gen_.batch_size, out);
    out.metrics["max_new_tokens"] = double(gen_.max_new_tokens);
  }

 private:
  std::string dataset_;
  int64_t limit_;
  JudgeScorer scorer_;
  GenerationOptions gen_;
};

std::vector<ParamSpec> judge_params() {
  std::vector<ParamSpec> p = {
      {"dataset", ParamType::String, "", "name of a prompt set under `datasets:`", true},
      {"limit", ParamType::Int, "0", "use the first N prompts (0: all)", false, 0.0},
  };
  for (auto& s : judge_score_params()) p.push_back(s);
  for (auto& s : generation_params(64)) p.push_back(s);
  return p;
}

QLAB_REGISTER(EvaluatorInfo{
    "judge",
    "unsafe rate of generated responses as classified by a judge LM (LlamaGuard, HarmBench classifier, custom)",
    judge_params(),
    [](const Params& p) { return std::make_unique<Judge>(p); }, check_generation_context});

}  // namespace
}  // namespace qlab
