#include "evaluation/common/text_norm.h"

#include <algorithm>

#include "core/model/unicode.h"

namespace qlab::text {

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc >> 6) == 2;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    static const char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) { out.push_back(0xFFFD); ++i; continue; }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  for (char32_t cp : s) append_utf8(out, cp);
  return out;
}

bool is_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool python_space(char32_t c) { return is_space(c) || (c >= 0x1C && c <= 0x1F); }

bool is_digit(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19) || (c >= 0x0660 && c <= 0x0669) ||
         (c >= 0x06F0 && c <= 0x06F9) || (c >= 0x0966 && c <= 0x096F);
}

static bool is_combining_mark(char32_t c) {
  return (c >= 0x0300 && c <= 0x036F) || (c >= 0x0591 && c <= 0x05C7) || (c >= 0x0610 && c <= 0x061A) ||
         (c >= 0x064B && c <= 0x065F) || c == 0x0670 || (c >= 0x06D6 && c <= 0x06ED) ||
         (c >= 0x0900 && c <= 0x0903) || (c >= 0x093A && c <= 0x094F) || (c >= 0x0951 && c <= 0x0957) ||
         (c >= 0x0962 && c <= 0x0963) || c == 0x0E31 || (c >= 0x0E34 && c <= 0x0E3A) ||
         (c >= 0x0E47 && c <= 0x0E4E) || (c >= 0x3099 && c <= 0x309A) || (c >= 0x1AB0 && c <= 0x1AFF) ||
         (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

// Block ranges of the scripts the evaluators distinguish. Punctuation inside
// a block (e.g. Arabic comma U+060C, danda U+0964, CJK U+3000-303F) is excluded.
Script script_of(char32_t c) {
  if (c < 0x80) return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? Script::Latin : Script::None;
  if (is_combining_mark(c) || is_digit(c)) return Script::None;
  if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x1E00 && c <= 0x1EFF) ||
      (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A) || c == 0xAA || c == 0xBA)
    return Script::Latin;
  if ((c >= 0x370 && c <= 0x3FF && c != 0x37E && c != 0x387) || (c >= 0x1F00 && c <= 0x1FFF)) return Script::Greek;
  if ((c >= 0x400 && c <= 0x52F) || (c >= 0x2DE0 && c <= 0x2DFF) || (c >= 0xA640 && c <= 0xA69F))
    return Script::Cyrillic;
  if (c >= 0x531 && c <= 0x58A) return Script::Armenian;
  if (c >= 0x5D0 && c <= 0x5F2) return Script::Hebrew;
  if ((c >= 0x620 && c <= 0x64A) || (c >= 0x66E && c <= 0x6D3) || c == 0x6D5 || (c >= 0x6EE && c <= 0x6FF) ||
      (c >= 0x750 && c <= 0x77F) || (c >= 0x8A0 && c <= 0x8FF) || (c >= 0xFB50 && c <= 0xFDFF) ||
      (c >= 0xFE70 && c <= 0xFEFF))
    return Script::Arabic;
  if ((c >= 0x904 && c <= 0x939) || c == 0x93D || c == 0x950 || (c >= 0x958 && c <= 0x961) ||
      (c >= 0x971 && c <= 0x97F))
    return Script::Devanagari;
  if (c >= 0x980 && c <= 0x9FF) return Script::Bengali;
  if ((c >= 0xE01 && c <= 0xE30) || (c >= 0xE32 && c <= 0xE33) || (c >= 0xE40 && c <= 0xE46)) return Script::Thai;
  if ((c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3131 && c <= 0x318E))
    return Script::Hangul;
  if (c >= 0x3041 && c <= 0x309F) return Script::Hiragana;
  if ((c >= 0x30A1 && c <= 0x30FF && c != 0x30FB) || (c >= 0x31F0 && c <= 0x31FF) ||
      (c >= 0xFF66 && c <= 0xFF9D))
    return Script::Katakana;
  if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
      (c >= 0x20000 && c <= 0x2FA1F) || c == 0x3005 || c == 0x3007)
    return Script::Han;
  if (is_space(c) || is_punct_or_symbol(c)) return Script::None;
  return Script::OtherLetter;
}

const char* to_string(Script s) {
  static const char* names[] = {"None", "Latin", "Greek", "Cyrillic", "Armenian", "Hebrew", "Arabic",
                                "Devanagari", "Bengali", "Thai", "Hangul", "Hiragana", "Katakana", "Han",
                                "OtherLetter"};
  return names[static_cast<int>(s)];
}

// Punctuation and symbols by block: ASCII and Latin-1 non-alphanumerics, the
// General Punctuation to Misc Symbols blocks, CJK and fullwidth punctuation,
// and the script-specific marks (Arabic comma/semicolon/question, danda).
bool is_punct_or_symbol(char32_t c) {
  if (c < 0x80) return c > 0x20 && c != 0x7F && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9');
  if (c >= 0xA1 && c <= 0xBF) return c != 0xAA && c != 0xBA;
  return c == 0xD7 || c == 0xF7 || c == 0x37E || c == 0x387 || (c >= 0x55A && c <= 0x55F) || c == 0x589 ||
         c == 0x5BE || c == 0x5C0 || c == 0x5C3 || c == 0x5F3 || c == 0x5F4 || (c >= 0x600 && c <= 0x60F) ||
         c == 0x61B || (c >= 0x61D && c <= 0x61F) || (c >= 0x66A && c <= 0x66D) || c == 0x6D4 ||
         c == 0x964 || c == 0x965 || c == 0x970 || c == 0xE3F || c == 0xE4F || c == 0xE5A || c == 0xE5B ||
         (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) || (c >= 0x2070 && c <= 0x2BFF) ||
         (c >= 0x3001 && c <= 0x3004) || (c >= 0x3008 && c <= 0x3020) || c == 0x3030 || c == 0x30FB ||
         (c >= 0xFE10 && c <= 0xFE19) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF01 && c <= 0xFF0F) ||
         (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) ||
         (c >= 0x1F000 && c <= 0x1FAFF);
}

char32_t to_lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;                  // Latin-1
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x138 && c != 0x149 && c != 0x178) {
    // Latin Extended-A pairs: even upper/odd lower, except 0x139-0x148 and 0x179-0x17E (odd upper).
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    return (odd_upper ? (c % 2 == 1) : (c % 2 == 0)) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;                 // Greek
  if (c >= 0x410 && c <= 0x42F) return c + 32;                               // Cyrillic basic
  if (c >= 0x400 && c <= 0x40F) return c + 80;                               // Ѐ..Џ
  return c;
}

std::string normalize(std::string_view s, const NormalizeOptions& o) {
  size_t cut = s.size();
  for (const auto& m : o.cut_markers)
    if (!m.empty()) cut = std::min(cut, std::min(s.size(), s.find(m)));   // npos is the largest size_t
  std::string head(s.substr(0, cut));
  if (o.nfc) head = unicode::nfc(unicode::lossy(head));
  std::u32string cps = decode_utf8(head);
  std::string out;
  bool pending_space = false;
  for (char32_t c : cps) {
    if ((o.drop_punctuation && is_punct_or_symbol(c)) || (o.drop_digits && is_digit(c))) c = ' ';
    if (o.collapse_whitespace && is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    append_utf8(out, c);
  }
  return out;
}

Units default_units(const std::string& language) {
  return (language == "zh" || language == "ja" || language == "th") ? Units::Characters : Units::Words;
}

std::vector<Span> unit_spans(std::string_view s, Units units) {
  std::vector<Span> spans;
  size_t i = 0;
  bool in_unit = false;
  while (i < s.size()) {
    // One code point at a time; its byte length from the lead byte (invalid
    // bytes count as one).
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    len = std::min(len, s.size() - i);
    std::u32string cp = decode_utf8(s.substr(i, len));
    if (cp.size() != 1) len = 1;   // a broken sequence: take its first byte alone
    if (cp.size() == 1 && is_space(cp[0])) {
      in_unit = false;
    } else if (in_unit && units == Units::Words) {
      spans.back().end = i + len;
    } else {
      spans.push_back({i, i + len});
      in_unit = true;
    }
    i += len;
  }
  return spans;
}

std::vector<std::string> split_units(std::string_view s, Units units) {
  std::vector<std::string> out;
  for (const Span& sp : unit_spans(s, units)) out.emplace_back(s.substr(sp.begin, sp.end - sp.begin));
  return out;
}

}  // namespace qlab::text
