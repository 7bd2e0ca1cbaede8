#include "evaluation/judge/judge_scores.h"

#include <map>

#include "core/error.h"
#include "core/model/chat_template.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "evaluation/common/generation.h"

namespace qlab {

namespace {

std::string verdict_of(const std::string& preset) {
  if (preset == "custom") throw UsageError("judge: template 'custom' needs `verdict` llamaguard, harmbench or regex");
  return preset;
}

}  // namespace

JudgeScorer::JudgeScorer(const Params& p)
    : judge_path_(p.get_string("judge_model")),
      template_(judge_template(p.get_string("template") == "custom" ? p.get_string("template_text")
                                                                     : p.get_string("template"))),
      judge_chat_(p.get_string("judge_chat_template")), preset_(p.get_string("template")),
      parser_(p.get_string("verdict") == "template" ? verdict_of(p.get_string("template")) : p.get_string("verdict"),
              p.get_string("unsafe_regex"), p.get_string("safe_regex")),
      judge_max_new_tokens_(p.get_int("judge_max_new_tokens")) {
  if (p.get_string("template") != "custom" && !p.get_string("template_text").empty())
    throw UsageError("judge: `template_text` is only read with template 'custom'");
}

void JudgeScorer::score(const std::vector<std::string>& prompts, const std::vector<std::string>& responses,
                        c10::Device device, c10::ScalarType dtype, int64_t batch_size, RunOutput& out) const {
  Model judge = Model::load(judge_path_, device, dtype);
  auto judge_tok = Tokenizer::load(judge_path_);
  GenerationOptions j;
  // LlamaGuard's task is a user turn of the judge's own chat format; the
  // HarmBench prompt and custom templates are sent as written.
  if (!judge_chat_.empty()) j.chat_template = judge_chat_;
  else if (preset_ == "llamaguard") j.chat_template = detect_chat_template(judge.config.model_type, judge_tok->chat_template());
  else j.chat_template = "none";
  j.max_new_tokens = judge_max_new_tokens_;
  j.batch_size = batch_size;
  j.greedy = true;
  std::vector<std::string> questions;
  for (size_t i = 0; i < prompts.size(); ++i) questions.push_back(fill_judge_template(template_, prompts[i], responses[i]));
  std::vector<std::string> answers = generate_responses(judge, *judge_tok, questions, j, "judge verdicts");

  std::vector<std::string> labels, categories;
  std::map<std::string, int64_t> count;
  for (const auto& a : answers) {
    Verdict v = parser_.parse(a);
    labels.push_back(v.label);
    categories.push_back(v.category);
    count[v.label] += 1;
  }
  const double n = double(answers.size());
  out.metrics["unsafe_rate"] = count["unsafe"] / n;
  out.metrics["safe_rate"] = count["safe"] / n;
  out.metrics["unparsed_rate"] = count["unparsed"] / n;
  out.metrics["n"] = n;
  out.arrays["prompts"] = prompts;
  out.arrays["responses"] = responses;
  out.arrays["verdicts"] = answers;
  out.arrays["labels"] = labels;
  out.arrays["categories"] = categories;
}

std::vector<ParamSpec> judge_score_params() {
  return {
      {"judge_model", ParamType::String, "", "Hugging Face checkpoint folder of the judge (with its tokenizer)", true},
      {"template", ParamType::String, "llamaguard", "judge prompt: a preset, or custom (then `template_text`)", false, {},
       {}, {"llamaguard", "harmbench", "custom"}},
      {"template_text", ParamType::String, "''", "custom judge prompt with {prompt} and {response} placeholders"},
      {"verdict", ParamType::String, "template", "answer parser; template: the preset's own", false, {}, {},
       {"template", "llamaguard", "harmbench", "regex"}},
      {"unsafe_regex", ParamType::String, "''", "verdict regex: an answer matching it is unsafe (ECMAScript)"},
      {"safe_regex", ParamType::String, "''", "verdict regex: an answer matching it is safe (ECMAScript)"},
      {"judge_chat_template", ParamType::String, "''",
       "chat format of the judge's input (\"\": llamaguard -> the judge's own, else none)"},
      {"judge_max_new_tokens", ParamType::Int, "16", "tokens of the judge's answer at most", false, 1, 4096},
  };
}

}  // namespace qlab
