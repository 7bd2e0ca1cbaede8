// UTF-8 text utilities for the language evaluators: code points, the Unicode
// script of a letter, the normalisation N-Mix applies before windowing, and
// splitting into units (words or characters).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace qlab::text {

// Code points of `s`; each invalid byte becomes U+FFFD.
std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);

enum class Script { None, Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Bengali, Thai,
                    Hangul, Hiragana, Katakana, Han, OtherLetter };
// Script of a letter; None for spaces, digits, punctuation, symbols and marks.
Script script_of(char32_t cp);
const char* to_string(Script s);

bool is_space(char32_t cp);
// Python's str.isspace() (what str.split(), str.strip() and the regex \s match):
// is_space plus the information separators U+001C..U+001F.
bool python_space(char32_t cp);
bool is_digit(char32_t cp);        // ASCII, fullwidth, Arabic-Indic and Devanagari digits
bool is_punct_or_symbol(char32_t cp);  // not a letter, digit, space or combining mark
char32_t to_lower(char32_t cp);    // ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic

struct NormalizeOptions {
  bool nfc = true;                      // canonical composition (core/model/unicode.h)
  bool collapse_whitespace = true;      // runs of whitespace -> one space, trimmed
  bool drop_punctuation = false;        // punctuation and symbols -> space
  bool drop_digits = false;             // digits -> space
  std::vector<std::string> cut_markers; // text from the first marker on is dropped
};
std::string normalize(std::string_view s, const NormalizeOptions& options);

enum class Units { Words, Characters };
// Characters for languages written without spaces (zh, ja, th), else words.
Units default_units(const std::string& language);
// Byte ranges [begin, end) of the units of `s`. Words: maximal runs of
// non-space; Characters: every non-space code point. A window of units i..j is
// then s.substr(span[i].begin, span[j].end - span[i].begin), original spacing kept.
struct Span {
  size_t begin, end;
};
std::vector<Span> unit_spans(std::string_view s, Units units);
std::vector<std::string> split_units(std::string_view s, Units units);

}  // namespace qlab::text
