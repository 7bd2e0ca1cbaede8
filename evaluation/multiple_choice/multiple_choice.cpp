// Multiple choice by log-likelihood, as lm-eval-harness scores it: for every
// choice, the sum of log p(continuation tokens | context); the prediction is
// the choice with the highest sum (acc) or the highest sum per character of
// the choice text (acc_norm: lm-eval divides by len(choice) in Python
// characters, the delimiter not counted; here Unicode code points).
//
// Texts (no chat template):
//   SafetyBench  context  "Question: {q}\nOptions:\n(A) {o1}\n(B) {o2}...\nAnswer:"
//                continuation " " + option text            (docs/evaluators.md)
//   generic      context as given, continuation " " + choice; no " " is added
//                when the choice starts with whitespace or the context ends
//                with it, and trailing whitespace of the context is moved into
//                the continuation (lm-eval's rule: SentencePiece attaches the
//                space to the following word).
// Continuation tokens: encode(context + continuation) minus the first
// len(encode(context)) tokens (both with BOS), lm-eval's split, so a token
// merging across the boundary counts to the continuation; at least one token.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <map>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/registry.h"
#include "evaluation/common/text_norm.h"

namespace qlab {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string safetybench_context(const Example& e) {
  std::string s = "Question: " + e.prompt + "\nOptions:\n";
  for (size_t i = 0; i < e.choices.size(); ++i) s += std::string("(") + char('A' + i) + ") " + e.choices[i] + "\n";
  return s + "Answer:";
}

// One scored row: the tokens of context + continuation, and how many of the
// last ones are the continuation.
struct Row {
  std::vector<int64_t> ids;
  int64_t n_cont;
};

Row make_row(const Tokenizer& tok, std::string context, const std::string& choice) {
  std::string cont = choice;
  bool joined = choice.empty() || is_ws(choice[0]) || (!context.empty() && is_ws(context.back()));
  if (!joined) cont = " " + choice;
  size_t keep = context.size();
  while (keep > 0 && is_ws(context[keep - 1])) --keep;
  cont = context.substr(keep) + cont;
  context.resize(keep);
  std::vector<int64_t> ctx = tok.encode(context, /*add_special=*/true);
  std::vector<int64_t> whole = tok.encode(context + cont, /*add_special=*/true);
  // With nothing to condition on, lm-eval conditions on the end-of-text token.
  if (ctx.empty()) {
    auto eos = tok.eos_ids();
    if (eos.empty()) throw UsageError("multiple_choice: empty context and the tokenizer has neither BOS nor EOS");
    ctx.push_back(eos[0]);
    whole.insert(whole.begin(), eos[0]);
  }
  int64_t n_cont = std::max<int64_t>(1, int64_t(whole.size()) - int64_t(ctx.size()));
  if (int64_t(whole.size()) <= n_cont) throw UsageError("multiple_choice: a choice leaves no context token to condition on");
  return {whole, n_cont};
}

// Sum of the continuation's log-probs per row; rows right-padded into one
// forward (causal attention: padding after a row's end never reaches it).
std::vector<double> score_rows(Model& model, const std::vector<Row>& rows, int64_t pad_id) {
  torch::NoGradGuard no_grad;
  int64_t L = 0;
  for (const Row& r : rows) L = std::max<int64_t>(L, r.ids.size());
  auto ids = torch::full({int64_t(rows.size()), L}, pad_id, torch::kLong);
  for (size_t b = 0; b < rows.size(); ++b)
    ids[b].narrow(0, 0, rows[b].ids.size()).copy_(torch::tensor(rows[b].ids, torch::kLong));
  auto logits = model.forward(ids.to(model.device));   // [B, L, V] float32
  std::vector<double> sums;
  for (size_t b = 0; b < rows.size(); ++b) {
    int64_t n = rows[b].ids.size(), k = rows[b].n_cont;
    // Positions n-k-1 .. n-2 predict tokens n-k .. n-1; float64 as token_logprobs.
    auto logp = torch::log_softmax(logits[b].narrow(0, n - k - 1, k).to(torch::kFloat64), -1);
    auto target = ids[b].narrow(0, n - k, k).to(logp.device()).unsqueeze(1);
    sums.push_back(logp.gather(1, target).sum().item<double>());
  }
  return sums;
}

int64_t argmax(const std::vector<double>& v) {
  int64_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

class MultipleChoice : public Evaluator {
 public:
  explicit MultipleChoice(const Params& p)
      : dataset_(p.get_string("dataset")), format_(p.get_string("format")), batch_(p.get_int("batch_size")),
        limit_(p.get_int("limit")) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    const Dataset& data = ws.dataset(dataset_);
    if (data.examples.empty()) throw UsageError(data.source + ": data set '" + dataset_ + "' has no examples");
    bool safetybench = format_ == "safetybench" || (format_ == "auto" && data.name == "safetybench");
    size_t n = limit_ > 0 ? std::min(data.examples.size(), size_t(limit_)) : data.examples.size();
    const Tokenizer& tok = ws.tokenizer();

    std::vector<Row> rows;
    std::vector<int64_t> n_choices;
    for (size_t i = 0; i < n; ++i) {
      const Example& e = data.examples[i];
      if (e.choices.empty() || e.answer < 0 || e.answer >= int64_t(e.choices.size()))
        throw UsageError(data.source + ": example " + std::to_string(i + 1) +
                         (e.id.empty() ? "" : " (id " + e.id + ")") + " needs choices and an answer index among them");
      std::string context = safetybench ? safetybench_context(e) : e.prompt;
      for (const auto& c : e.choices) rows.push_back(make_row(tok, context, c));
      n_choices.push_back(e.choices.size());
    }

    Model& model = ws.model();
    int64_t pad = tok.pad_id() >= 0 ? tok.pad_id() : 0;
    std::vector<double> ll;
    auto t0 = std::chrono::steady_clock::now();
    for (size_t b0 = 0; b0 < rows.size(); b0 += batch_) {
      size_t b1 = std::min(rows.size(), b0 + size_t(batch_));
      for (double s : score_rows(model, {rows.begin() + b0, rows.begin() + b1}, pad)) ll.push_back(s);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("multiple_choice {}: scored {}/{} choices | ETA {}", dataset_, b1, rows.size(),
                   format_duration(secs / b1 * (rows.size() - b1)));
    }

    std::vector<int64_t> predictions, predictions_norm, answers, correct;
    std::vector<std::string> categories;
    std::map<std::string, std::pair<int64_t, int64_t>> per_category;   // correct, total
    int64_t hits = 0, hits_norm = 0;
    for (size_t i = 0, r = 0; i < n; r += n_choices[i], ++i) {
      const Example& e = data.examples[i];
      std::vector<double> s(ll.begin() + r, ll.begin() + r + n_choices[i]), s_norm;
      for (size_t c = 0; c < e.choices.size(); ++c)
        s_norm.push_back(s[c] / double(std::max<size_t>(1, text::decode_utf8(e.choices[c]).size())));
      predictions.push_back(argmax(s));
      predictions_norm.push_back(argmax(s_norm));
      answers.push_back(e.answer);
      correct.push_back(predictions.back() == e.answer);
      hits += correct.back();
      hits_norm += predictions_norm.back() == e.answer;
      categories.push_back(e.label);
      if (!e.label.empty()) per_category[e.label].first += correct.back(), per_category[e.label].second += 1;
    }
    out.metrics["acc"] = double(hits) / n;
    out.metrics["acc_norm"] = double(hits_norm) / n;
    out.metrics["n"] = double(n);
    for (const auto& [cat, c] : per_category) out.metrics["acc." + cat] = double(c.first) / c.second;
    out.arrays["predictions"] = predictions;
    out.arrays["predictions_norm"] = predictions_norm;
    out.arrays["answers"] = answers;
    out.arrays["correct"] = correct;
    out.arrays["categories"] = categories;
    out.arrays["n_choices"] = n_choices;
    out.arrays["choice_logprobs"] = ll;
  }

 private:
  std::string dataset_, format_;
  int64_t batch_, limit_;
};

QLAB_REGISTER(EvaluatorInfo{
    "multiple_choice",
    "log-likelihood multiple choice (SafetyBench, lm-eval-style {context, choices, answer}): acc, acc_norm",
    {
        {"dataset", ParamType::String, "", "name of a multiple-choice set under `datasets:` (safetybench, jsonl_mc)", true},
        {"format", ParamType::String, "auto",
         "safetybench: Question/Options/Answer prompt; context: the example's text as is; auto: by the reader", false,
         {}, {}, {"auto", "safetybench", "context"}},
        {"batch_size", ParamType::Int, "8", "choice rows per forward pass (right-padded)", false, 1, 4096},
        {"limit", ParamType::Int, "0", "use the first N examples (0: all)", false, 0.0},
    },
    [](const Params& p) { return std::make_unique<MultipleChoice>(p); }});

}  // namespace
}  // namespace qlab
