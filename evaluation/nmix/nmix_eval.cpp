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

LanguageScoreOptions score_options(const Params& p) {
  LanguageScoreOptions o;
  o.nmix.n = int(p.get_int("n"));
  o.nmix.stride = int(p.get_int("stride"));
  std::string units = p.get_string("units");
  if (units != "auto") o.nmix.units = units == "words" ? text::Units::Words : text::Units::Characters;
  o.nmix.normalize.nfc = p.get_bool("nfc");
  o.nmix.normalize.drop_punctuation = p.get_bool("drop_punctuation");
  o.nmix.normalize.drop_digits = p.get_bool("drop_digits");
  o.nmix.normalize.cut_markers = p.get_string_list("cut_markers");
  o.nmix.min_confidence = p.get_float("min_confidence");
  o.nmix.require_reliable = p.get_bool("require_reliable");
  o.tau = p.get_float("tau");
  o.lcb_min_units = int(p.get_int("lcb_min_units"));
  o.exempt_prompt_words = p.get_bool("exempt_prompt_words");
  o.nmix_exempt_prompt_words = p.get_bool("nmix_exempt_prompt_words");
  return o;
}

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
        lid_(make_language_identifier(p.get_string("identifier"), p.get_string_list("languages"))),
        options_(score_options(p)), gen_(generation_options(p)) {
    if (!language_.empty() && canonical_language_code(language_).empty())
      throw UsageError("nmix: unknown language code '" + language_ + "' in `language` (expected ISO 639-1, e.g. en, zh)");
  }

  void evaluate(Workspace& ws, RunOutput& out) override {
    const Dataset& data = ws.dataset(dataset_);
    std::vector<Example> examples = prompt_examples(data, dataset_, limit_);
    std::vector<std::string> prompts, languages;
    for (size_t i = 0; i < examples.size(); ++i) {
      examples[i].language = expected_language(data, i, language_);
      prompts.push_back(examples[i].prompt);
      languages.push_back(examples[i].language);
    }
    GenerationOptions g = gen_;
    g.chat_template = ws.chat_template();
    g.seed = ws.seed();
    std::vector<std::string> responses = generate_responses(ws.model(), ws.tokenizer(), prompts, g, "nmix " + dataset_);

    LanguageScores s = score_languages(responses, examples, *lid_, options_);
    out.metrics = s.metrics;
    out.metrics["max_new_tokens"] = double(gen_.max_new_tokens);
    out.arrays["prompts"] = prompts;
    out.arrays["responses"] = responses;
    out.arrays["languages"] = languages;
    out.arrays["nmix"] = s.nmix;
    out.arrays["entropy"] = s.entropy;
    out.arrays["windows"] = s.windows;
    out.arrays["labelled_windows"] = s.labelled;
    out.arrays["line_pass"] = s.line_pass;
    out.arrays["word_pass"] = s.word_pass;
    out.arrays["rouge_l"] = s.rouge_l;
  }

 private:
  std::string dataset_, language_;
  int64_t limit_;
  std::unique_ptr<LanguageIdentifier> lid_;
  LanguageScoreOptions options_;
  GenerationOptions gen_;
};

std::vector<ParamSpec> nmix_params() {
  std::vector<ParamSpec> p = {
      {"dataset", ParamType::String, "", "name of a prompt set with languages under `datasets:` (tofu_ml, jsonl_prompts, ...)",
       true},
      {"language", ParamType::String, "''", "expected response language for every prompt (\"\": each example's own)"},
      {"limit", ParamType::Int, "0", "use the first N prompts (0: all)", false, 0.0},
      {"identifier", ParamType::String, "cld2", "language identifier of the windows", false, {}, {},
       {"cld2", "exttextcat", "script"}},
      {"languages", ParamType::StringList, "[]", "restrict the identifier to these ISO 639-1 codes ([]: any)"},
      {"n", ParamType::Int, "0", "window length in units (0: 5 words, 10 characters for zh/ja/th)", false, 0, 1000},
      {"stride", ParamType::Int, "1", "units between window starts", false, 1, 1000},
      {"units", ParamType::String, "auto", "window units (auto: characters for zh/ja/th, else words)", false, {}, {},
       {"auto", "words", "characters"}},
      {"nfc", ParamType::Bool, "true", "Unicode NFC before windowing"},
      {"drop_punctuation", ParamType::Bool, "false", "replace punctuation and symbols by spaces before windowing"},
      {"drop_digits", ParamType::Bool, "false", "replace digits by spaces before windowing"},
      {"cut_markers", ParamType::StringList, "[\"[INST]\", \"<|im_start|>\", \"<|start_header_id|>\", \"\\nUser:\"]",
       "the response is cut at the first of these (a new turn the model wrote itself)"},
      {"min_confidence", ParamType::Float, "0.0", "drop windows identified with less confidence", false, 0, 1},
      {"require_reliable", ParamType::Bool, "false", "drop windows the identifier calls unreliable"},
      {"tau", ParamType::Float, "0.5", "share_above_tau counts responses with nmix > tau", false, 0, 1},
      {"lcb_min_units", ParamType::Int, "5", "line pass rate: lines with fewer units are not judged", false, 1, 1000},
      {"exempt_prompt_words", ParamType::Bool, "true", "word pass rate: Latin words of the prompt (names) do not fail"},
      {"nmix_exempt_prompt_words", ParamType::Bool, "false",
       "N-Mix: Latin words of the prompt (names) are taken out of the response before windowing"},
  };
  for (auto& s : generation_params(128)) p.push_back(s);
  return p;
}

QLAB_REGISTER(EvaluatorInfo{
    "nmix",
    "language confusion of generated responses: N-Mix, Language Confusion Benchmark pass rates, ROUGE-L",
    nmix_params(),
    [](const Params& p) { return std::make_unique<Nmix>(p); }, check_generation_context});

}  // namespace
}  // namespace qlab
