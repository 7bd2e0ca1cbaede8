// Language confusion: the model answers prompts that carry a language
// (jsonl_prompts, tofu_ml, parallel_text), and language_scores.h measures how
// much of each answer is in another language (N-Mix, docs/evaluators.md), the
// Language Confusion Benchmark pass rates, and ROUGE-L against the reference.
#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/registry.h"
#include "evaluation/common/generation.h"
#include "evaluation/nmix/language_scores.h"

namespace qlab {
namespace {

// The expected language, canonical: the override, else the example's own.
std::string expected_language(const Dataset& data, size_t i, const std::string& override_code) {
  const std::string& given = override_code.empty() ? data.examples[i].language : override_code;
  std::string where = override_code.empty() ? data.source + ": example " + std::to_string(i + 1) : "nmix: `language`";
  if (given.empty()) throw UsageError(where + " has no language; set the evaluator's `language`");
  std::string code = canonical_language_code(given);
  if (code.empty()) throw UsageError(where + ": unknown language code '" + given + "' (expected ISO 639-1, e.g. en, zh)");
  return code;
}

class Nmix : public Evaluator {
 public:
  explicit Nmix(const Params& p)
      : dataset_(p.get_string("dataset")), language_(p.get_string("language")), limit_(p.get_int("limit")),
        scorer_(p), gen_(generation_options(p)) {
    if (!language_.empty() && canonical_language_code(language_).empty())
      throw UsageError("nmix: unknown language code '" + language_ + "' in `language` (expected ISO 639-1, e.g. en, zh)");
  }

  void evaluate(Workspace& ws, RunOutput& out) override {
    const Dataset& data = ws.dataset(dataset_);
    std::vector<Example> examples = prompt_examples(data, dataset_, limit_);
    std::vector<std::string> prompts;
    for (size_t i = 0; i < examples.size(); ++i) {
      examples[i].language = expected_language(data, i, language_);
      prompts.push_back(examples[i].prompt);
    }
    GenerationOptions g = gen_;
    g.chat_template = ws.chat_template();
    g.seed = ws.seed();
    std::vector<std::string> responses = generate_responses(ws.model(), ws.tokenizer(), prompts, g, "nmix " + dataset_);

    scorer_.score(responses, examples, out);
    out.metrics["max_new_tokens"] = double(gen_.max_new_tokens);
  }

 private:
  std::string dataset_, language_;
  int64_t limit_;
  NmixScorer scorer_;
  GenerationOptions gen_;
};

std::vector<ParamSpec> nmix_params() {
  std::vector<ParamSpec> p = {
      {"dataset", ParamType::String, "", "name of a prompt set with languages under `datasets:` (tofu_ml, jsonl_prompts, ...)",
       true},
      {"language", ParamType::String, "''", "expected response language for every prompt (\"\": each example's own)"},
      {"limit", ParamType::Int, "0", "use the first N prompts (0: all)", false, 0.0},
  };
  for (auto& s : nmix_score_params()) p.push_back(s);
  for (auto& s : generation_params(128)) p.push_back(s);
  return p;
}

QLAB_REGISTER(EvaluatorInfo{
    "nmix",
    "language confusion of generated responses: N-Mix, Language Confusion Benchmark pass rates, ROUGE-L",
    nmix_params(),
    [](const Params& p) { return std::make_unique<Nmix>(p); },
    [](const Params& p, Workspace& ws) {
      NmixScorer::check(p);
      check_generation_context(p, ws);
    }});

}  // namespace
}  // namespace qlab
