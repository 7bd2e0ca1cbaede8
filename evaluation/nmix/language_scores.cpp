#include "evaluation/nmix/language_scores.h"

#include <limits>
#include <stdexcept>

#include "evaluation/common/rouge.h"

namespace qlab {

namespace {
// Maximal runs of Latin letters: the "words" lcb_word_pass looks for.
std::vector<std::string> latin_words(const std::string& s) {
  std::vector<std::string> words(1);
  for (char32_t c : text::decode_utf8(s)) {
    if (text::script_of(c) == text::Script::Latin) {
      text::append_utf8(words.back(), c);
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}
}  // namespace

LanguageScores score_languages(const std::vector<std::string>& responses, const std::vector<Example>& examples,
                               const LanguageIdentifier& lid, const LanguageScoreOptions& o) {
  if (responses.size() != examples.size()) throw std::invalid_argument("score_languages: one example per response");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LanguageScores s;
  std::vector<std::string> languages;
  double line_hits = 0, word_hits = 0, word_defined = 0, rouge_sum = 0, rouge_defined = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    const Example& e = examples[i];
    languages.push_back(e.language);
    NmixOptions nmix = o.nmix;
    if (o.nmix_exempt_prompt_words) nmix.exempt_words = latin_words(e.prompt);
    NmixResult r = nmix_response(responses[i], e.language, lid, nmix);
    s.nmix.push_back(r.nmix);
    s.entropy.push_back(r.entropy);
    s.windows.push_back(r.windows);
    s.labelled.push_back(r.labelled);

    s.line_pass.push_back(lcb_line_pass(responses[i], e.language, lid, o.lcb_min_units));
    line_hits += s.line_pass.back();
    std::vector<std::string> exempt;
    if (o.exempt_prompt_words) exempt = latin_words(e.prompt);
    std::optional<bool> word = lcb_word_pass(responses[i], e.language, exempt);
    s.word_pass.push_back(word ? int64_t(*word) : -1);
    if (word) word_defined += 1, word_hits += *word;

    if (e.reference.empty()) {
      s.rouge_l.push_back(nan);
    } else {
      // Units of the reference's language: characters for zh/ja/th.
      s.rouge_l.push_back(rouge_l(responses[i], e.reference, text::default_units(e.language)).f1);
      rouge_sum += s.rouge_l.back(), rouge_defined += 1;
    }
  }
  NmixSummary sum = summarize_nmix(languages, s.nmix, o.tau);
  s.metrics["nmix"] = sum.macro_mean;
  s.metrics["share_above_tau"] = sum.macro_share_above_tau;
  for (const auto& [lang, l] : sum.per_language) {
    s.metrics["nmix." + lang] = l.mean;
    s.metrics["share_above_tau." + lang] = l.share_above_tau;
    s.metrics["n." + lang] = l.responses;
  }
  const double n = double(responses.size());
  s.metrics["n"] = n;
  s.metrics["line_pass_rate"] = n > 0 ? line_hits / n : nan;
  if (word_defined > 0) s.metrics["word_pass_rate"] = word_hits / word_defined;
  if (rouge_defined > 0) s.metrics["rouge_l"] = rouge_sum / rouge_defined;
  return s;
}

}  // namespace qlab
