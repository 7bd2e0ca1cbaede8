// The language metrics of the nmix evaluator on given responses, apart from
// generation so that they can be checked on known text: N-Mix per response and
// per language (evaluation/common/nmix.h), the Language Confusion Benchmark's
// line- and word-level pass rates, and ROUGE-L against the reference answer
// (a right answer in the wrong language scores near 0 there, which is why it
// is reported beside N-Mix). Torch-free.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "evaluation/common/nmix.h"

namespace qlab {

struct LanguageScoreOptions {
  NmixOptions nmix;
  double tau = 0.5;                  // share of responses with nmix > tau, per language
  int lcb_min_units = 5;             // line level: lines shorter than this are not judged
  bool exempt_prompt_words = true;   // word level: Latin words of the prompt (names) do not fail it
  bool nmix_exempt_prompt_words = false;   // N-Mix: those words are taken out before windowing too
};

struct LanguageScores {
  std::vector<double> nmix, entropy;         // per response; NaN when no window was labelled
  std::vector<int64_t> windows, labelled;    // per response
  std::vector<int64_t> line_pass;            // per response, 0/1
  std::vector<int64_t> word_pass;            // per response, 0/1, -1 where undefined (not ar/hi/ja/ko/ru/zh)
  std::vector<double> rouge_l;               // per response F1, NaN without a reference
  // nmix, share_above_tau (macro over languages), nmix.<lang>,
  // share_above_tau.<lang>, n.<lang>, line_pass_rate, n; word_pass_rate and
  // rouge_l only where some response has them defined (means over those).
  std::map<std::string, double> metrics;
};

// examples[i].language is the expected language of responses[i] (canonical
// ISO 639-1); examples[i].prompt and .reference are read as described above.
LanguageScores score_languages(const std::vector<std::string>& responses, const std::vector<Example>& examples,
                               const LanguageIdentifier& lid, const LanguageScoreOptions& options);

}  // namespace qlab
