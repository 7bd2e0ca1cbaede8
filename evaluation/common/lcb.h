// The Language Confusion Benchmark's pass rates (Marchisio et al., 2024) as its
// reference script, compute_metrics.py, computes them:
//
//   1. normalise: cut at the first "\nQ:", strip whitespace at both ends,
//      delete ASCII punctuation, replace the em dash by a space, delete the
//      Arabic comma;
//   2. split into lines at "\n"; tokenize each line (whitespace; zh with
//      jieba, ja with MeCab, see lcb_tokens); judge only lines of at least
//      5 tokens; a response with no judged line is skipped (counted in no
//      denominator);
//   3. identify each judged line; its label counts only with confidence > 0.3
//      (else "unknown"); a label other than the response's language is a line
//      error;
//   4. a response without line errors has a word error when a token of its
//      judged lines is in the English word list (lower-case entries longer
//      than 3 letters), compared exactly;
//   5. line pass rate = 1 - responses with line errors / max(1, judged);
//      word pass rate (ar, hi, ja, ko, ru, zh only) = 1 - responses with word
//      errors / max(1, judged - responses with line errors); line accuracy =
//      the mean share of right lines over judged responses (1 when none).
//
// The reference identifies with fastText's lid.176.bin (identifier "fasttext"
// in langid.h); with that file, jieba's files (python3-jieba) and MeCab with
// UniDic the numbers are the reference's, up to the differences of Debian's
// UniDic from the reference's (docs/evaluators.md).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "evaluation/common/langid.h"
#include "evaluation/common/word_segmenter.h"

namespace qlab {

// Step 1.
std::string lcb_normalize(std::string_view response);

// Tokens of one normalised line: Python's str.split() (runs of Unicode
// whitespace); for zh and ja the tokens of `segmenter`, the language's (the
// reference: jieba.cut, whitespace tokens counted; MeCab's wakati output split
// at whitespace). Where a zh/ja line has no segmenter (evaluation/common/
// word_segmenter.h), a stand-in: a run of Latin letters and digits is one
// token, every other character is one; so the 5-token rule admits shorter
// zh/ja lines than the reference does, while English words still come out
// whole for step 4.
std::vector<std::string> lcb_tokens(std::string_view line, const std::string& language,
                                    const WordSegmenter* segmenter = nullptr);

// The languages the reference reports a word pass rate for.
bool lcb_word_level_language(const std::string& language);

// The English word list: the entries of a words file (one a line, stripped)
// that are lower-case (some cased letter, none upper-case) and longer than 3
// code points.
class EnglishWords {
 public:
  explicit EnglishWords(const std::vector<std::string>& entries);
  // Throws UsageError "PATH: ..." for a file that cannot be read or yields no word.
  static EnglishWords load(const std::string& path);
  bool contains(const std::string& token) const { return words_.count(token) > 0; }
  size_t size() const { return words_.size(); }

 private:
  std::unordered_set<std::string> words_;
};

// The word list a run reads when none is named: $QLAB_ENGLISH_WORDS, else
// /usr/share/dict/words (Debian's wamerican; the reference's list is the same
// Unix words file).
std::string default_english_words_path();

struct LcbOptions {
  int min_tokens = 5;            // step 2
  double min_confidence = 0.3;   // step 3: a label counts when confidence > this
  // Step 4: tokens equal to one of these, compared lower-cased, are not English
  // words (names from the prompt). The reference has no such rule: empty there.
  std::vector<std::string> exempt;
  // The zh and ja segmenters (null, or null members: the stand-in).
  const ZhJaSegmenters* segmenters = nullptr;
};

enum class LcbVerdict { Skipped, LineError, WordError, Pass };

struct LcbJudgement {
  LcbVerdict verdict = LcbVerdict::Skipped;
  int judged_lines = 0;
  int wrong_lines = 0;
};

LcbJudgement lcb_judge(std::string_view response, const std::string& language, const LanguageIdentifier& lid,
                       const EnglishWords& words, const LcbOptions& options = {});

struct LcbRates {
  int64_t judged = 0, line_errors = 0, word_errors = 0;
  double line_pass_rate = 1.0;
  double line_accuracy = 1.0;
  std::optional<double> word_pass_rate;   // when word_level
};
// Step 5 over the judgements of one language (word_level: report the word pass rate).
LcbRates lcb_rates(const std::vector<LcbJudgement>& judgements, bool word_level);

}  // namespace qlab
