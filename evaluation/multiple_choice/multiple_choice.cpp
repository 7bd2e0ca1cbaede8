// Multiple choice by log-likelihood, as lm-eval-harness scores it: for every
// choice, the sum of log p(continuation tokens | context); the prediction is
// the choice with the highest sum (acc) or the highest sum per character of
// the choice text (acc_norm). Scoring and token split:
// evaluation/common/loglikelihood.h.
//
// Texts (no chat template):
//   SafetyBench  context  "Question: {q}\nOptions:\n(A) {o1}\n(B) {o2}...\nAnswer:"
//                (q stripped, as SafetyBench's prompt builder does);
//                continuation " " + option text            (docs/evaluators.md)
//   lm_eval      a zero-shot task's item (datasets/zeroshot.h): " " + choice
//                always, or partial scoring's per-choice contexts
//   generic      context as given, continuation " " + choice; no " " is added
//                when the choice starts with whitespace or the context ends
//                with it.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/registry.h"
#include "datasets/zeroshot.h"
#include "evaluation/common/loglikelihood.h"

namespace qlab {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string strip(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && is_ws(s[a])) ++a;
  while (b > a && is_ws(s[b - 1])) --b;
  return s.substr(a, b - a);
}

std::string safetybench_context(const Example& e) {
  std::string s = "Question: " + strip(e.prompt) + "\nOptions:\n";
  for (size_t i = 0; i < e.choices.size(); ++i) s += std::string("(") + char('A' + i) + ") " + e.choices[i] + "\n";
  return s + "Answer:";
}

std::vector<LoglikRequest> generic_requests(const Example& e, const std::string& context) {
  std::vector<LoglikRequest> out;
  for (const auto& c : e.choices) {
    bool joined = c.empty() || is_ws(c[0]) || (!context.empty() && is_ws(context.back()));
    out.push_back({context, joined ? c : " " + c});
  }
  return out;
}

// The format `auto` resolves to, by the reader that made the data set.
std::string resolve_format(const std::string& format, const Dataset& data) {
  if (format != "auto") return format;
  if (data.name == "safetybench") return "safetybench";
  if (data.name == "zeroshot" || find_zeroshot_task(data.name)) return "lm_eval";
  return "context";
}

class MultipleChoice : public Evaluator {
 public:
  explicit MultipleChoice(const Params& p)
      : dataset_(p.get_string("dataset")), format_(p.get_string("format")), label_(p.get_string("label")),
        batch_(p.get_int("batch_size")), limit_(p.get_int("limit")), bos_(p.get_bool("bos")) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    const Dataset& data = ws.dataset(dataset_);
    if (data.examples.empty()) throw UsageError(data.source + ": data set '" + dataset_ + "' has no examples");
    std::string format = resolve_format(format_, data);
    size_t n = limit_ > 0 ? std::min(data.examples.size(), size_t(limit_)) : data.examples.size();

    // Answers for all examples, or for none (a test set whose key is hidden).
    const bool answered = data.examples[0].answer >= 0;
    std::vector<LoglikRequest> requests;
    std::vector<int64_t> n_choices;
    for (size_t i = 0; i < n; ++i) {
      const Example& e = data.examples[i];
      bool answer_ok = answered ? e.answer >= 0 && e.answer < int64_t(e.choices.size()) : e.answer < 0;
      if (e.choices.empty() || !answer_ok)
        throw UsageError(data.source + ": example " + std::to_string(i + 1) +
                         (e.id.empty() ? "" : " (id " + e.id + ")") +
                         (answered ? " needs choices and an answer index among them"
                                   : " needs choices (and, like the first example, no answer)"));
      std::vector<LoglikRequest> rs = format == "lm_eval"       ? lm_eval_choice_requests(e)
                                      : format == "safetybench" ? generic_requests(e, safetybench_context(e))
                                                                : generic_requests(e, e.prompt);
      requests.insert(requests.end(), rs.begin(), rs.end());
      n_choices.push_back(e.choices.size());
    }
    std::vector<double> ll;
    for (const auto& r : score_loglikelihood(ws.model(), ws.tokenizer(), requests, bos_, batch_,
                                             "multiple_choice " + dataset_))
      ll.push_back(r.logprob);

    std::vector<int64_t> predictions, predictions_norm, answers, correct;
    std::vector<std::string> categories, ids;
    std::map<std::string, std::pair<int64_t, int64_t>> per_category;   // correct, total
    int64_t hits = 0, hits_norm = 0;
    for (size_t i = 0, r = 0; i < n; r += n_choices[i], ++i) {
      const Example& e = data.examples[i];
      std::vector<double> s(ll.begin() + r, ll.begin() + r + n_choices[i]);
      predictions.push_back(argmax_choice(s));
      predictions_norm.push_back(argmax_choice_norm(s, e.choices));
      ids.push_back(e.id);
      categories.push_back(e.label);
      if (!answered) continue;
      answers.push_back(e.answer);
      correct.push_back(predictions.back() == e.answer);
      hits += correct.back();
      hits_norm += predictions_norm.back() == e.answer;
      if (!e.label.empty()) per_category[e.label].first += correct.back(), per_category[e.label].second += 1;
    }
    out.metrics["n"] = double(n);
    out.arrays["predictions"] = predictions;
    out.arrays["predictions_norm"] = predictions_norm;
    out.arrays["ids"] = ids;
    out.arrays["categories"] = categories;
    out.arrays["n_choices"] = n_choices;
    out.arrays["choice_logprobs"] = ll;
    if (!answered) {
      out.arrays["submission"] = std::vector<std::string>{write_submission(ws, ids, predictions)};
      return;
    }
    out.metrics["acc"] = double(hits) / n;
    out.metrics["acc_norm"] = double(hits_norm) / n;
    for (const auto& [cat, c] : per_category) out.metrics["acc." + cat] = double(c.first) / c.second;
    out.arrays["answers"] = answers;
    out.arrays["correct"] = correct;
  }

 private:
  // SafetyBench's leaderboard format: {"<id>": predicted option index}, as
  // <label>.<run hash>.submission.json beside the results file; returns the JSON text.
  std::string write_submission(Workspace& ws, const std::vector<std::string>& ids,
                               const std::vector<int64_t>& predictions) {
    nlohmann::ordered_json sub = nlohmann::ordered_json::object();
    for (size_t i = 0; i < ids.size(); ++i) sub[ids[i]] = predictions[i];
    const std::string dir = ws.run().results_dir.empty() ? "." : ws.run().results_dir;
    const std::string path = (std::filesystem::path(dir) / (label_ + "." + ws.run().hash + ".submission.json")).string();
    std::ofstream f(path);
    if (!(f << sub.dump(1) << "\n")) throw UsageError(path + ": cannot write the submission file");
    spdlog::info("multiple_choice {}: no answers in {}; predictions written to {}", dataset_, ws.dataset(dataset_).source, path);
    return sub.dump();
  }

  std::string dataset_, format_, label_;
  int64_t batch_, limit_;
  bool bos_;
};

QLAB_REGISTER(EvaluatorInfo{
    "multiple_choice",
    "log-likelihood multiple choice (SafetyBench, lm-eval-style {context, choices, answer}): acc, acc_norm",
    {
        {"dataset", ParamType::String, "", "name of a multiple-choice set under `datasets:` (safetybench, jsonl_mc)", true},
        {"format", ParamType::String, "auto",
         "safetybench: Question/Options/Answer prompt; lm_eval: a zero-shot task's item as lm-eval builds it; "
         "context: the example's text as is; auto: by the reader", false,
         {}, {}, {"auto", "safetybench", "lm_eval", "context"}},
        {"batch_size", ParamType::Int, "8", "choice rows per forward pass (right-padded)", false, 1, 4096},
        {"limit", ParamType::Int, "0", "use the first N examples (0: all)", false, 0.0},
        {"bos", ParamType::Bool, "false", "prepend BOS to context and continuation (lm-eval's HF model, as AAQ scores SafetyBench, adds none)"},
    },
    [](const Params& p) { return std::make_unique<MultipleChoice>(p); }});

}  // namespace
}  // namespace qlab
