// Model-judged safety: the evaluated model answers the data set's prompts
// (chat-formatted, evaluation/common/generation.h), then a judge causal LM
// (LlamaGuard, HarmBench's classifier, or any checkpoint with a custom
// template) reads each (prompt, response) pair and answers; verdict.h turns its
// answer into unsafe / safe / unparsed.
//
// The judge generates its own responses rather than reading another
// evaluator's: evaluators of one run do not see each other's outputs, and
// regenerating greedily gives the same text a `refusal` evaluator with the
// same generation settings saw.
#include <map>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/model/chat_template.h"
#include "core/registry.h"
#include "evaluation/common/generation.h"
#include "evaluation/judge/verdict.h"

namespace qlab {
namespace {

class Judge : public Evaluator {
 public:
  explicit Judge(const Params& p)
      : dataset_(p.get_string("dataset")), judge_path_(p.get_string("judge_model")), limit_(p.get_int("limit")),
        template_(judge_template(p.get_string("template") == "custom" ? p.get_string("template_text")
                                                                       : p.get_string("template"))),
        parser_(p.get_string("verdict") == "template" ? verdict_of(p.get_string("template")) : p.get_string("verdict"),
                p.get_string("unsafe_regex"), p.get_string("safe_regex")),
        judge_chat_(p.get_string("judge_chat_template")), preset_(p.get_string("template")),
        judge_max_new_tokens_(p.get_int("judge_max_new_tokens")), gen_(generation_options(p)) {
    if (p.get_string("template") != "custom" && !p.get_string("template_text").empty())
      throw UsageError("judge: `template_text` is only read with template 'custom'");
  }

  void evaluate(Workspace& ws, RunOutput& out) override {
    std::vector<Example> examples = prompt_examples(ws.dataset(dataset_), dataset_, limit_);
    std::vector<std::string> prompts;
    for (const auto& e : examples) prompts.push_back(e.prompt);
    GenerationOptions g = gen_;
    g.chat_template = ws.chat_template();
    g.seed = ws.seed();
    std::vector<std::string> responses = generate_responses(ws.model(), ws.tokenizer(), prompts, g, "judge " + dataset_);

    // The judge runs on the study's device and dtype, and is dropped at the end.
    Model judge = Model::load(judge_path_, ws.device(), ws.dtype());
    auto judge_tok = Tokenizer::load(judge_path_);
    GenerationOptions j;
    j.chat_template = judge_chat_template(judge, *judge_tok);
    j.max_new_tokens = judge_max_new_tokens_;
    j.batch_size = gen_.batch_size;
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
    out.metrics["max_new_tokens"] = double(gen_.max_new_tokens);
    out.arrays["prompts"] = prompts;
    out.arrays["responses"] = responses;
    out.arrays["verdicts"] = answers;
    out.arrays["labels"] = labels;
    out.arrays["categories"] = categories;
  }

 private:
  static std::string verdict_of(const std::string& preset) {
    if (preset == "custom") throw UsageError("judge: template 'custom' needs `verdict` llamaguard, harmbench or regex");
    return preset;
  }
  // LlamaGuard's task is a user turn of the judge's own chat format; the
  // HarmBench prompt and custom templates are sent as written.
  std::string judge_chat_template(const Model& judge, const Tokenizer& tok) const {
    if (!judge_chat_.empty()) return judge_chat_;
    if (preset_ == "llamaguard") return detect_chat_template(judge.config.model_type, tok.chat_template());
    return "none";
  }

  std::string dataset_, judge_path_;
  int64_t limit_;
  std::string template_;
  VerdictParser parser_;
  std::string judge_chat_, preset_;
  int64_t judge_max_new_tokens_;
  GenerationOptions gen_;
};

std::vector<ParamSpec> judge_params() {
  std::vector<ParamSpec> p = {
      {"dataset", ParamType::String, "", "name of a prompt set under `datasets:`", true},
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
      {"limit", ParamType::Int, "0", "use the first N prompts (0: all)", false, 0.0},
  };
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
