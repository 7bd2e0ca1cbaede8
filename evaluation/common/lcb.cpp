#include "evaluation/common/lcb.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "evaluation/common/text_norm.h"

namespace qlab {

namespace {

bool ascii_punctuation(char32_t c) {   // Python's string.punctuation
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

std::u32string strip(std::u32string s) {
  size_t b = 0, e = s.size();
  while (b < e && text::python_space(s[b])) ++b;
  while (e > b && text::python_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool cased_script(text::Script s) {
  return s == text::Script::Latin || s == text::Script::Greek || s == text::Script::Cyrillic ||
         s == text::Script::Armenian;
}

std::string lower(const std::string& s) {
  std::u32string l = text::decode_utf8(s);
  for (auto& c : l) c = text::to_lower(c);
  return text::encode_utf8(l);
}

}  // namespace

std::string lcb_normalize(std::string_view response) {
  size_t cut = response.find("\nQ:");
  std::u32string s = strip(text::decode_utf8(response.substr(0, cut)));
  std::u32string out;
  for (char32_t c : s) {
    if (ascii_punctuation(c) || c == U'\u060C') continue;   // the Arabic comma goes too
    out.push_back(c == U'\u2014' ? U' ' : c);                 // the em dash becomes a space
  }
  return text::encode_utf8(out);
}

std::vector<std::string> lcb_tokens(std::string_view line, const std::string& language,
                                    const WordSegmenter* segmenter) {
  const bool segment = language == "zh" || language == "ja";
  if (segment && segmenter) return segmenter->segment(line);
  std::vector<std::string> tokens;
  std::string run;   // the token being read
  auto flush = [&] {
    if (!run.empty()) tokens.push_back(std::move(run));
    run.clear();
  };
  for (char32_t c : text::decode_utf8(line)) {
    if (text::python_space(c)) {
      flush();
    } else if (!segment || text::script_of(c) == text::Script::Latin || text::is_digit(c)) {
      text::append_utf8(run, c);
    } else {
      flush();
      text::append_utf8(run, c);
      flush();
    }
  }
  flush();
  return tokens;
}

bool lcb_word_level_language(const std::string& language) {
  static const std::vector<std::string> languages = {"ar", "hi", "ja", "ko", "ru", "zh"};
  return std::find(languages.begin(), languages.end(), language) != languages.end();
}

EnglishWords::EnglishWords(const std::vector<std::string>& entries) {
  for (const std::string& entry : entries) {
    std::u32string w = strip(text::decode_utf8(entry));
    bool cased = false, upper = false;
    for (char32_t c : w) {
      cased = cased || cased_script(text::script_of(c));
      upper = upper || text::to_lower(c) != c;
    }
    if (cased && !upper && w.size() > 3) words_.insert(text::encode_utf8(w));
  }
}

EnglishWords EnglishWords::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UsageError(path + ": cannot read the English word list (Debian: apt-get install wamerican)");
  std::vector<std::string> entries;
  for (std::string line; std::getline(f, line);) entries.push_back(line);
  EnglishWords words(entries);
  if (words.size() == 0)
    throw UsageError(path + ": no English words in it (entries are kept when lower-case and longer than 3 letters)");
  return words;
}

std::string default_english_words_path() {
  const char* env = std::getenv("QLAB_ENGLISH_WORDS");
  return env && *env ? env : "/usr/share/dict/words";
}

LcbJudgement lcb_judge(std::string_view response, const std::string& language, const LanguageIdentifier& lid,
                       const EnglishWords& words, const LcbOptions& o) {
  std::vector<std::string> exempt;
  for (const auto& w : o.exempt) exempt.push_back(lower(w));
  const WordSegmenter* segmenter = o.segmenters ? o.segmenters->for_language(language) : nullptr;
  const std::string norm = lcb_normalize(response);
  LcbJudgement j;
  bool english_word = false;
  for (size_t start = 0; start <= norm.size();) {
    size_t nl = std::min(norm.find('\n', start), norm.size());
    std::string_view line = std::string_view(norm).substr(start, nl - start);
    start = nl + 1;
    std::vector<std::string> tokens = lcb_tokens(line, language, segmenter);
    if (static_cast<int>(tokens.size()) < o.min_tokens) continue;
    ++j.judged_lines;
    LidResult id = lid.identify(line);
    if (!(id.confidence > o.min_confidence && id.lang == language)) ++j.wrong_lines;
    // The reference strips each token before the look-up; only jieba's whitespace tokens change, to "".
    for (const auto& t : tokens)
      english_word = english_word ||
                     (words.contains(t) && std::find(exempt.begin(), exempt.end(), lower(t)) == exempt.end());
  }
  if (j.judged_lines == 0) j.verdict = LcbVerdict::Skipped;
  else if (j.wrong_lines > 0) j.verdict = LcbVerdict::LineError;
  else j.verdict = english_word ? LcbVerdict::WordError : LcbVerdict::Pass;
  return j;
}

LcbRates lcb_rates(const std::vector<LcbJudgement>& judgements, bool word_level) {
  LcbRates r;
  double accuracy = 0;
  for (const auto& j : judgements) {
    if (j.verdict == LcbVerdict::Skipped) continue;
    ++r.judged;
    r.line_errors += j.verdict == LcbVerdict::LineError;
    r.word_errors += j.verdict == LcbVerdict::WordError;
    accuracy += 1.0 - double(j.wrong_lines) / j.judged_lines;
  }
  // The reference's denominators: max(1, ...), so a set with nothing judged passes.
  r.line_pass_rate = 1.0 - double(r.line_errors) / std::max<int64_t>(1, r.judged);
  r.line_accuracy = r.judged > 0 ? accuracy / r.judged : 1.0;
  if (word_level) r.word_pass_rate = 1.0 - double(r.word_errors) / std::max<int64_t>(1, r.judged - r.line_errors);
  return r;
}

}  // namespace qlab
