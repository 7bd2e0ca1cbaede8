// The log-likelihood scorer of evaluation/common/loglikelihood.h.
#include "evaluation/common/loglikelihood.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/error.h"
#include "evaluation/common/text_norm.h"

namespace qlab {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One scored row: the tokens of context + continuation, and how many of the
// last ones are the continuation.
struct Row {
  std::vector<int64_t> ids;
  int64_t n_cont;
};

Row make_row(const Tokenizer& tok, const LoglikRequest& r, bool bos) {
  std::string context = r.context;
  size_t keep = context.size();
  while (keep > 0 && is_ws(context[keep - 1])) --keep;
  std::string cont = context.substr(keep) + r.continuation;
  context.resize(keep);
  std::vector<int64_t> ctx = tok.encode(context, bos);
  std::vector<int64_t> whole = tok.encode(context + cont, bos);
  if (ctx.empty()) {
    auto eos = tok.eos_ids();
    if (eos.empty()) throw UsageError("loglikelihood: empty context and the tokenizer has no EOS token to condition on");
    ctx.push_back(eos[0]);
    whole.insert(whole.begin(), eos[0]);
  }
  int64_t n_cont = std::max<int64_t>(1, int64_t(whole.size()) - int64_t(ctx.size()));
  if (int64_t(whole.size()) <= n_cont) throw UsageError("loglikelihood: a continuation leaves no context token to condition on");
  return {std::move(whole), n_cont};
}

// Rows right-padded into one forward (causal attention: padding after a
// row's end never reaches it).
void score_batch(Model& model, const std::vector<const Row*>& rows, int64_t pad_id, LoglikResult* out[]) {
  torch::NoGradGuard no_grad;
  int64_t L = 0;
  for (const Row* r : rows) L = std::max<int64_t>(L, r->ids.size());
  auto ids = torch::full({int64_t(rows.size()), L}, pad_id, torch::kLong);
  for (size_t b = 0; b < rows.size(); ++b)
    ids[b].narrow(0, 0, rows[b]->ids.size()).copy_(torch::tensor(rows[b]->ids, torch::kLong));
  // Only the positions that predict a continuation token (n-k-1 .. n-2 for
  // tokens n-k .. n-1) go through the head: the whole batch's float32 logits
  // over a 128k vocabulary would be half a MB per position.
  auto hidden = model.hidden_states(ids.to(model.device));   // [B, L, hidden]
  std::vector<torch::Tensor> picked;
  for (size_t b = 0; b < rows.size(); ++b) {
    const int64_t n = rows[b]->ids.size(), k = rows[b]->n_cont;
    picked.push_back(hidden[b].narrow(0, n - k - 1, k));
  }
  auto logits = model.head(torch::cat(picked));   // [sum of k, V] float32
  int64_t first = 0;
  for (size_t b = 0; b < rows.size(); ++b) {
    const int64_t n = rows[b]->ids.size(), k = rows[b]->n_cont;
    auto pos = logits.narrow(0, first, k);   // float64 below, as token_logprobs
    first += k;
    auto target = ids[b].narrow(0, n - k, k).to(pos.device());
    auto logp = torch::log_softmax(pos.to(torch::kFloat64), -1);
    out[b]->logprob = logp.gather(1, target.unsqueeze(1)).sum().item<double>();
    out[b]->greedy = pos.argmax(-1).eq(target).all().item<bool>();
    out[b]->tokens = k;
  }
}

}  // namespace

std::vector<LoglikResult> score_loglikelihood(Model& model, const Tokenizer& tok,
                                              const std::vector<LoglikRequest>& requests, bool bos,
                                              int64_t batch_size, const std::string& what) {
  std::vector<Row> rows;
  rows.reserve(requests.size());
  for (const auto& r : requests) rows.push_back(make_row(tok, r, bos));
  // Longest first: rows of a batch have similar lengths, so little padding.
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].ids.size() > rows[b].ids.size(); });
  std::vector<LoglikResult> results(rows.size());
  int64_t pad = tok.pad_id() >= 0 ? tok.pad_id() : 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t b0 = 0; b0 < order.size(); b0 += batch_size) {
    size_t b1 = std::min(order.size(), b0 + size_t(batch_size));
    std::vector<const Row*> batch;
    std::vector<LoglikResult*> out;
    for (size_t i = b0; i < b1; ++i) batch.push_back(&rows[order[i]]), out.push_back(&results[order[i]]);
    score_batch(model, batch, pad, out.data());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("{}: scored {}/{} | ETA {:.0f} s", what, b1, order.size(), secs / b1 * (order.size() - b1));
  }
  return results;
}

std::vector<LoglikRequest> lm_eval_choice_requests(const Example& e) {
  std::vector<LoglikRequest> out;
  if (!e.contexts.empty()) {
    for (const auto& c : e.contexts) out.push_back({c, " " + e.reference});
  } else {
    for (const auto& c : e.choices) out.push_back({e.prompt, " " + c});
  }
  return out;
}

int64_t argmax_choice(const std::vector<double>& logprobs) {
  return std::max_element(logprobs.begin(), logprobs.end()) - logprobs.begin();
}

int64_t argmax_choice_norm(const std::vector<double>& logprobs, const std::vector<std::string>& choices) {
  std::vector<double> norm;
  for (size_t c = 0; c < logprobs.size(); ++c)
    norm.push_back(logprobs[c] / double(std::max<size_t>(1, text::decode_utf8(choices.at(c)).size())));
  return argmax_choice(norm);
}

}  // namespace qlab
