// The language metrics of the nmix evaluator on given responses, apart from
// generation so that they can be checked on known text and applied to
// responses generated elsewhere (`qlab eval-responses`): N-Mix per response
// and per language (evaluation/common/nmix.h), the Language Confusion
// Benchmark's line- and word-level pass rates (evaluation/common/lcb.h), and
// ROUGE-L against the reference answer (a right answer in the wrong language
// scores near 0 there, which is why it is reported beside N-Mix). Torch-free.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/params.h"
#include "core/run_output.h"
#include "evaluation/common/lcb.h"
#include "evaluation/common/nmix.h"

namespace qlab {

struct LanguageScoreOptions {
  NmixOptions nmix;
  double tau = 0.5;                        // share of responses with nmix > tau, per language
  LcbOptions lcb;
  bool exempt_prompt_words = false;        // LCB word level: Latin words of the prompt (names) are no English words
  bool nmix_exempt_prompt_words = false;   // N-Mix: those words are taken out before windowing
};

// What the scores read besides the text: N-Mix's identifier, the LCB's (may be
// the same object) and its English word list.
struct LanguageScorers {
  const LanguageIdentifier& nmix;
  const LanguageIdentifier& lcb;
  const EnglishWords& english_words;
};

struct LanguageScores {
  std::vector<double> nmix, entropy;         // per response; NaN when no window was labelled
  std::vector<int64_t> windows, labelled;    // per response
  std::vector<int64_t> line_pass;            // per response: 1, 0, -1 where skipped (no judged line)
  // Per response: 1, 0, -1 where undefined (not ar/hi/ja/ko/ru/zh, skipped, or a line error).
  std::vector<int64_t> word_pass;
  std::vector<double> rouge_l;               // per response F1, NaN without a reference
  // nmix, share_above_tau (macro over languages), nmix.<lang>,
  // share_above_tau.<lang>, n.<lang>, n; the LCB's line_pass_rate,
  // line_accuracy, lcb_judged (over all responses, its denominators) and
  // word_pass_rate (over the responses in ar/hi/ja/ko/ru/zh, where there are
  // any); rouge_l where some response has a reference (mean over those).
  std::map<std::string, double> metrics;
};

// examples[i].language is the expected language of responses[i] (canonical
// ISO 639-1); examples[i].prompt and .reference are read as described above.
LanguageScores score_languages(const std::vector<std::string>& responses, const std::vector<Example>& examples,
                               const LanguageScorers& scorers, const LanguageScoreOptions& options);

// The nmix evaluator's scoring, built from its parameters (nmix_score_params):
// shared by the evaluator and `qlab eval-responses`.
class NmixScorer {
 public:
  // Loads the identifiers and the word list; UsageError for a bad file.
  explicit NmixScorer(const Params& p);
  // The cheap part of that (files exist and look right), before any run.
  static void check(const Params& p);
  // Metrics and per-sample arrays (prompts, responses, languages, nmix, ...)
  // into `out`, and `lcb_segmenters`: which segmenter gave the zh and ja tokens.
  void score(const std::vector<std::string>& responses, const std::vector<Example>& examples, RunOutput& out) const;

 private:
  LanguageScoreOptions options_;
  std::unique_ptr<LanguageIdentifier> nmix_lid_, lcb_lid_;   // lcb_lid_ null: nmix_lid_ serves both
  std::unique_ptr<EnglishWords> words_;
  ZhJaSegmenters segmenters_;
};

// The parameters NmixScorer reads (the evaluator adds its data set and generation ones).
std::vector<ParamSpec> nmix_score_params();

}  // namespace qlab
