// N-Mix: how much of a response is in a language other than the expected one
// (reconstruction of Hwang et al. 2025's n-gram language-mix score; see
// docs/evaluators.md). The Language Confusion Benchmark's pass rates, which
// the nmix evaluator reports beside it, are in lcb.h.
//
// Per response:
//   1. normalise (text_norm.h: collapse whitespace, optional punctuation and
//      digit drop, cut at the first new-turn marker); exempt words out;
//   2. split into units: words, or characters for zh/ja/th (by the expected
//      language unless NmixOptions::units says otherwise);
//   3. windows of n units (default 5 words, 10 characters) with `stride`; a response shorter than n units is one
//      window of all its units (so short answers still count);
//   4. label each window with the identifier; windows it cannot label (lang ""),
//      with confidence < min_confidence, or unreliable when require_reliable,
//      are dropped;
//   5. nmix = windows labelled other than the expected language / labelled
//      windows (NaN when none is labelled); entropy = -sum p ln p (natural log)
//      of the shares of the labels over the labelled windows.
// Per language: the mean over responses with a defined nmix, and the share of
// those with nmix > tau; overall: macro averages over languages.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evaluation/common/langid.h"
#include "evaluation/common/text_norm.h"

namespace qlab {

struct NmixOptions {
  int n = 0;                                   // window length in units; 0: 5 words or 10 characters
  int stride = 1;
  std::optional<text::Units> units;            // default: text::default_units(expected language)
  text::NormalizeOptions normalize;
  double min_confidence = 0.0;
  bool require_reliable = false;
  // Latin-script words (compared lower-cased) taken out of the response before
  // windowing, e.g. the names of the prompt, which are not a language switch.
  std::vector<std::string> exempt_words;
};

struct NmixResult {
  int windows = 0;                             // windows formed
  int labelled = 0;                            // windows kept after step 4
  int foreign = 0;                             // kept windows labelled != expected
  double nmix = 0.0;                           // foreign / labelled, NaN when labelled == 0
  double entropy = 0.0;                        // nats, NaN when labelled == 0
  std::vector<std::string> labels;             // per window, "" when dropped
};

NmixResult nmix_response(std::string_view response, const std::string& expected_language,
                         const LanguageIdentifier& lid, const NmixOptions& options = {});

struct NmixLanguageSummary {
  int responses = 0;                           // responses of this language
  int defined = 0;                             // of which with a defined nmix
  double mean = 0.0;                           // mean nmix over defined (NaN if none)
  double share_above_tau = 0.0;                // share of defined with nmix > tau (NaN if none)
};
struct NmixSummary {
  std::map<std::string, NmixLanguageSummary> per_language;
  double macro_mean = 0.0;                     // over languages with a defined mean (NaN if none)
  double macro_share_above_tau = 0.0;
};
// languages[i] is the expected language of the response whose score is nmix[i].
NmixSummary summarize_nmix(const std::vector<std::string>& languages, const std::vector<double>& nmix,
                           double tau = 0.5);

}  // namespace qlab
