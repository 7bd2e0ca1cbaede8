#include "evaluation/common/jieba.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "evaluation/common/text_norm.h"

namespace qlab {

namespace {

constexpr double kMinFloat = -3.14e100;   // finalseg's stand-in for log(0)
enum State { B = 0, E = 1, M = 2, S = 3 };
constexpr char kStateLetters[] = "BEMS";
// The states a state may follow (finalseg's PrevStatus).
constexpr std::array<std::array<int, 2>, 4> kPrevious = {{{E, S}, {B, M}, {M, B}, {S, E}}};

bool han(char32_t c) { return c >= 0x4E00 && c <= 0x9FD5; }
bool ascii_alnum(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
// jieba's re_han_default: the characters of the runs the dictionary segments.
bool run_char(char32_t c) {
  return han(c) || ascii_alnum(c) || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' || c == '%' || c == '-';
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(path + ": cannot read " + what);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::u32string strip(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && text::python_space(s[b])) ++b;
  while (e > b && text::python_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// One entry of a jieba dictionary line as gen_pfdict reads it (stripped, split
// at single spaces, WORD and an integer FREQ); false when it is none.
bool parse_entry(const std::string& line, std::u32string& word, int64_t& freq) {
  std::u32string s = strip(text::decode_utf8(line));
  size_t sp = s.find(U' ');
  if (sp == std::u32string::npos || sp == 0) return false;
  size_t end = s.find(U' ', sp + 1);
  std::string f = text::encode_utf8(s.substr(sp + 1, end == std::u32string::npos ? end : end - sp - 1));
  size_t i = f.empty() || (f[0] != '-' && f[0] != '+') ? 0 : 1;
  if (i == f.size()) return false;
  for (size_t k = i; k < f.size(); ++k)
    if (!ascii_digit(static_cast<unsigned char>(f[k]))) return false;
  word = s.substr(0, sp);
  freq = std::strtoll(f.c_str(), nullptr, 10);
  return true;
}

// --- the HMM tables: Python dict literals of strings to numbers or dicts ---

struct PyValue {
  bool is_dict = false;
  double number = 0;
  std::vector<std::pair<std::u32string, PyValue>> items;
  const PyValue* find(const std::u32string& key) const {
    for (const auto& [k, v] : items)
      if (k == key) return &v;
    return nullptr;
  }
};

class PyLiteral {
 public:
  PyLiteral(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  // The value assigned to P ("P={...}"), the only assignment in the tables.
  PyValue assignment() {
    size_t at = s_.find("P=");
    if (at == std::string::npos) fail("no assignment P=");
    i_ = at + 2;
    PyValue v = value();
    skip();
    if (i_ != s_.size()) fail("text after the dict literal");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw UsageError(path_ + ": not one of jieba's HMM tables (" + why + " at byte " + std::to_string(i_) + ")");
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool take(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  PyValue value() {
    PyValue v;
    if (take('{')) {
      v.is_dict = true;
      while (!take('}')) {
        std::u32string key = string();
        if (!take(':')) fail("no ':' after a key");
        v.items.emplace_back(std::move(key), value());
        if (!take(',') && !(skip(), i_ < s_.size() && s_[i_] == '}')) fail("no ',' or '}' after a value");
      }
      return v;
    }
    skip();
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    v.number = std::strtod(begin, &end);
    if (end == begin) fail("neither a dict nor a number");
    i_ += end - begin;
    return v;
  }
  uint32_t hex(size_t digits) {
    if (i_ + digits > s_.size()) fail("a short escape");
    uint32_t c = 0;
    for (size_t k = 0; k < digits; ++k) {
      char h = s_[i_++];
      int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) fail("a bad escape");
      c = c * 16 + d;
    }
    return c;
  }
  std::u32string string() {
    skip();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("no string key");
    const char quote = s_[i_++];
    std::string raw;   // UTF-8, escapes resolved
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] != '\\') {
        raw += s_[i_++];
        continue;
      }
      if (++i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case 'u': text::append_utf8(raw, hex(4)); break;
        case 'U': text::append_utf8(raw, hex(8)); break;
        case 'x': text::append_utf8(raw, hex(2)); break;
        case 'n': raw += '\n'; break;
        case 't': raw += '\t'; break;
        case 'r': raw += '\r'; break;
        case '\\': case '\'': case '"': raw += e; break;
        default: fail(std::string("an unknown escape \\") + e);
      }
    }
    if (i_ >= s_.size()) fail("an unterminated string");
    ++i_;
    return text::decode_utf8(raw);
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

// The table in DIR/NAME, checked to be a dict with the four states as keys.
PyValue hmm_table(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  const std::string text = read_file(path, "jieba's HMM table (Debian: apt-get install python3-jieba)");
  PyValue v = PyLiteral(text, path).assignment();
  for (char letter : std::string(kStateLetters))
    if (!v.is_dict || !v.find(std::u32string(1, char32_t(letter))))
      throw UsageError(path + ": not one of jieba's HMM tables (no state " + std::string(1, letter) + ")");
  return v;
}

const PyValue& state_of(const PyValue& table, int state) { return *table.find(std::u32string(1, char32_t(kStateLetters[state]))); }

}  // namespace

namespace {

std::ifstream open_dictionary(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f || std::filesystem::is_directory(path))
    throw UsageError(path + ": cannot read the jieba dictionary (Debian: apt-get install python3-jieba)");
  return f;
}

[[noreturn]] void not_a_dictionary(const std::string& path, int lineno) {
  throw UsageError(located(path, lineno, 0, "not a jieba dictionary (lines are \"WORD FREQ [TAG]\")"));
}

}  // namespace

void JiebaSegmenter::check_dictionary(const std::string& dict_path) {
  std::ifstream f = open_dictionary(dict_path);
  std::string line;
  std::u32string word;
  int64_t n = 0;
  if (!std::getline(f, line)) throw UsageError(dict_path + ": not a jieba dictionary (no entries)");
  if (!parse_entry(line, word, n)) not_a_dictionary(dict_path, 1);
}

JiebaSegmenter::JiebaSegmenter(const std::string& dict_path, const std::string& hmm_dir)
    : dict_path_(dict_path), hmm_dir_(hmm_dir) {
  std::ifstream f = open_dictionary(dict_path);
  int64_t total = 0;
  int lineno = 0;
  for (std::string line; std::getline(f, line);) {
    ++lineno;
    std::u32string word;
    int64_t n = 0;
    if (!parse_entry(line, word, n)) not_a_dictionary(dict_path, lineno);
    freq_[word] = n;   // a repeated word keeps its last frequency; the total counts every line
    total += n;
    ++words_;
    for (size_t len = 1; len < word.size(); ++len) freq_.emplace(word.substr(0, len), 0);
  }
  if (words_ == 0) throw UsageError(dict_path + ": not a jieba dictionary (no entries)");
  log_total_ = std::log(double(total));

  const PyValue start = hmm_table(hmm_dir, "prob_start.py");
  const PyValue trans = hmm_table(hmm_dir, "prob_trans.py");
  const PyValue emit = hmm_table(hmm_dir, "prob_emit.py");
  for (int s = 0; s < 4; ++s) {
    start_[s] = state_of(start, s).number;
    for (int t = 0; t < 4; ++t) {
      const PyValue* p = state_of(trans, s).find(std::u32string(1, char32_t(kStateLetters[t])));
      trans_[s][t] = p ? p->number : kMinFloat;
    }
    for (const auto& [key, value] : state_of(emit, s).items)
      if (key.size() == 1) emit_[s][key[0]] = value.number;
  }
}

int64_t JiebaSegmenter::freq(const std::u32string& word) const {
  auto it = freq_.find(word);
  return it == freq_.end() ? 0 : it->second;
}

std::string JiebaSegmenter::describe() const {
  return "jieba (dictionary " + dict_path_ + ", HMM tables " + hmm_dir_ + ")";
}

std::vector<std::string> JiebaSegmenter::segment(std::string_view line) const {
  const std::u32string s = text::decode_utf8(line);
  std::vector<std::u32string> tokens;
  for (size_t i = 0; i < s.size();) {
    if (run_char(s[i])) {
      size_t j = i;
      while (j < s.size() && run_char(s[j])) ++j;
      cut_run(s.substr(i, j - i), tokens);
      i = j;
    } else {
      size_t n = s[i] == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n' ? 2 : 1;
      tokens.push_back(s.substr(i, n));
      i += n;
    }
  }
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(text::encode_utf8(t));
  return out;
}

void JiebaSegmenter::cut_run(const std::u32string& run, std::vector<std::u32string>& out) const {
  const size_t n = run.size();
  // 1. The DAG.
  std::vector<std::vector<size_t>> dag(n);
  for (size_t k = 0; k < n; ++k) {
    for (size_t i = k; i < n; ++i) {
      auto it = freq_.find(run.substr(k, i - k + 1));
      if (it == freq_.end()) break;
      if (it->second) dag[k].push_back(i);
    }
    if (dag[k].empty()) dag[k].push_back(k);
  }
  // 2. The route, from the end; on equal values the later end wins, as in
  //    Python's max over (value, end) tuples.
  std::vector<double> best(n + 1, 0.0);
  std::vector<size_t> end(n + 1, 0);
  for (size_t idx = n; idx-- > 0;) {
    bool first = true;
    for (size_t x : dag[idx]) {
      int64_t f = freq(run.substr(idx, x - idx + 1));
      double v = std::log(double(f ? f : 1)) - log_total_ + best[x + 1];
      if (first || v >= best[idx]) best[idx] = v, end[idx] = x;
      first = false;
    }
  }
  // 3. Along the route, one-character steps gathered into `buf`.
  std::u32string buf;
  auto flush = [&] {
    if (buf.size() == 1) {
      out.push_back(buf);
    } else if (!buf.empty()) {
      if (freq(buf) == 0) {
        hmm_cut(buf, out);
      } else {
        for (char32_t c : buf) out.emplace_back(1, c);
      }
    }
    buf.clear();
  };
  for (size_t x = 0; x < n;) {
    size_t y = end[x] + 1;
    if (y - x == 1) {
      buf += run[x];
    } else {
      flush();
      out.push_back(run.substr(x, y - x));
    }
    x = y;
  }
  flush();
}

void JiebaSegmenter::hmm_cut(const std::u32string& run, std::vector<std::u32string>& out) const {
  for (size_t i = 0; i < run.size();) {
    size_t j = i;
    if (han(run[i])) {
      while (j < run.size() && han(run[j])) ++j;
      viterbi_cut(run.substr(i, j - i), out);
      i = j;
      continue;
    }
    // Not Han: [a-zA-Z0-9]+(\.\d+)?%? are tokens, and so is each stretch between them.
    while (j < run.size() && !han(run[j]) && !ascii_alnum(run[j])) ++j;
    if (j > i) {
      out.push_back(run.substr(i, j - i));
      i = j;
      continue;
    }
    while (j < run.size() && ascii_alnum(run[j])) ++j;
    if (j + 1 < run.size() && run[j] == U'.' && ascii_digit(run[j + 1])) {
      j += 2;
      while (j < run.size() && ascii_digit(run[j])) ++j;
    }
    if (j < run.size() && run[j] == U'%') ++j;
    out.push_back(run.substr(i, j - i));
    i = j;
  }
}

void JiebaSegmenter::viterbi_cut(const std::u32string& han, std::vector<std::u32string>& out) const {
  const size_t n = han.size();
  auto emit = [&](int state, char32_t c) {
    auto it = emit_[state].find(c);
    return it == emit_[state].end() ? kMinFloat : it->second;
  };
  std::vector<std::array<double, 4>> v(n);
  std::vector<std::array<int, 4>> from(n);
  for (int y = 0; y < 4; ++y) v[0][y] = start_[y] + emit(y, han[0]);
  for (size_t t = 1; t < n; ++t) {
    for (int y = 0; y < 4; ++y) {
      const double em = emit(y, han[t]);
      int pick = -1;
      double value = 0;
      for (int y0 : kPrevious[y]) {
        double p = v[t - 1][y0] + trans_[y0][y] + em;
        if (pick < 0 || p > value || (p == value && y0 > pick)) pick = y0, value = p;
      }
      v[t][y] = value;
      from[t][y] = pick;
    }
  }
  // The last state is E or S; S on a tie.
  int state = v[n - 1][S] >= v[n - 1][E] ? S : E;
  std::vector<int> path(n);
  for (size_t t = n; t-- > 0;) {
    path[t] = state;
    if (t > 0) state = from[t][state];
  }
  size_t begin = 0, next = 0;
  for (size_t i = 0; i < n; ++i) {
    if (path[i] == B) {
      begin = i;
    } else if (path[i] == E) {
      out.push_back(han.substr(begin, i + 1 - begin));
      next = i + 1;
    } else if (path[i] == S) {
      out.emplace_back(1, han[i]);
      next = i + 1;
    }
  }
  if (next < n) out.push_back(han.substr(next));
}

}  // namespace qlab
