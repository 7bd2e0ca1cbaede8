// Chinese word segmentation by jieba's algorithm (jieba 0.42.1's `jieba.cut`
// in its default mode, HMM on), written here because no C++ jieba is packaged
// in Debian; the data are read at run time from python3-jieba's files:
//
//   dict.txt    lines "WORD FREQ [TAG]". The prefix dictionary maps every
//               word to its frequency and every prefix of a word to 0.
//   finalseg/prob_start.py, prob_trans.py, prob_emit.py
//               the HMM's log probabilities as Python dict literals (the
//               states B, M, E, S: begin, middle, end of a word, single).
//
// A line is cut into maximal runs of Han (U+4E00..U+9FD5), ASCII letters,
// digits and + # & . _ % -, each segmented as below; every other character is
// a token of its own ("\r\n" one token), whitespace included. A run:
//
//   1. the DAG: from each position, the ends of the dictionary words (freq > 0)
//      starting there (the position itself when none);
//   2. the route: from the end backwards, the step maximising
//      log(freq or 1) - log(total) + best(after it); ties to the longer word;
//   3. along the route, consecutive one-character steps are gathered; a
//      gathered run of two or more that is not itself a word goes to the HMM:
//      its Han runs through a Viterbi over B/M/E/S (ties to the later state
//      letter, as Python's max over (probability, state) tuples), its other
//      characters split into [A-Za-z0-9]+(.digits)?%? and what lies between.
//      A gathered run that is a word (freq > 0) is split into characters.
//
// The floating-point operations are done in the reference's order, so routes
// and ties come out as Python's.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "evaluation/common/word_segmenter.h"

namespace qlab {

class JiebaSegmenter : public WordSegmenter {
 public:
  // Throws UsageError "PATH: ..." naming the file that cannot be read or is
  // not jieba's (a dictionary line without "WORD FREQ", a table that is not a
  // dict literal of the four states).
  JiebaSegmenter(const std::string& dict_path, const std::string& hmm_dir);
  // Before any run: the dictionary can be read and its first line is an entry (the same errors).
  static void check_dictionary(const std::string& dict_path);
  // jieba.cut(line) as a list, whitespace tokens included (the reference counts them).
  std::vector<std::string> segment(std::string_view line) const override;
  std::string describe() const override;

  size_t words() const { return words_; }   // dictionary entries read

 private:
  void cut_run(const std::u32string& run, std::vector<std::u32string>& out) const;
  void hmm_cut(const std::u32string& run, std::vector<std::u32string>& out) const;
  void viterbi_cut(const std::u32string& han, std::vector<std::u32string>& out) const;
  int64_t freq(const std::u32string& word) const;   // 0 where absent

  std::string dict_path_, hmm_dir_;
  std::unordered_map<std::u32string, int64_t> freq_;   // words and their prefixes (0)
  double log_total_ = 0;
  size_t words_ = 0;
  // The HMM, states in the order B, E, M, S (their letters' order).
  std::array<double, 4> start_{};
  std::array<std::array<double, 4>, 4> trans_{};   // [from][to]
  std::array<std::unordered_map<char32_t, double>, 4> emit_;
};

}  // namespace qlab
