// Log-likelihood of continuations, as lm-evaluation-harness 0.4 scores them
// (its HF model's loglikelihood requests), shared by the multiple_choice and
// zeroshot evaluators.
//
// Tokens: trailing whitespace of the context moves into the continuation
// (SentencePiece attaches a space to the word after it); the continuation's
// tokens are encode(context + continuation) minus the first
// len(encode(context)) tokens, so a token merging across the boundary counts
// to the continuation (at least one token is scored). An empty context is
// conditioned on the EOS token, lm-eval's prefix token. `bos` prepends BOS to
// both encodings: lm-eval's HF model adds none (add_special_tokens=False).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"

namespace qlab {

struct LoglikRequest {
  std::string context, continuation;
};

struct LoglikResult {
  double logprob = 0;    // sum of log p(continuation token | everything before), float64
  bool greedy = false;   // every continuation token is the argmax at its position (LAMBADA's acc)
  int64_t tokens = 0;    // continuation tokens scored
};

// Scores every request, `batch_size` rows per forward (longest first, right
// padded); logs progress as "<what>: scored i/n".
std::vector<LoglikResult> score_loglikelihood(Model& model, const Tokenizer& tok,
                                              const std::vector<LoglikRequest>& requests, bool bos,
                                              int64_t batch_size, const std::string& what);

// lm-eval's requests for one multiple-choice item with the target delimiter
// " ": (context, " " + choice) for each choice, or, under partial scoring
// (Example::contexts), (contexts[c], " " + reference).
std::vector<LoglikRequest> lm_eval_choice_requests(const Example& e);

// lm-eval's predictions from the choices' log-likelihoods: acc's argmax, and
// acc_norm's argmax of logprob / characters of the choice (Python len:
// Unicode code points, the delimiter not counted). Ties go to the first.
int64_t argmax_choice(const std::vector<double>& logprobs);
int64_t argmax_choice_norm(const std::vector<double>& logprobs, const std::vector<std::string>& choices);

}  // namespace qlab
