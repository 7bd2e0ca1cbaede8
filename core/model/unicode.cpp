#include "core/model/unicode.h"

#include <algorithm>
#include <vector>

namespace qlab::unicode {

namespace {

// Well-formed UTF-8 (Unicode Table 3-7): from the lead byte, the sequence
// length and the allowed range of the second byte; later bytes are 80..BF.
struct Lead {
  size_t length;
  unsigned char lo, hi;
};
Lead lead_of(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// How many bytes at s[i] belong to a (possibly truncated) well-formed prefix;
// `complete` tells whether they make a whole sequence.
size_t prefix_length(std::string_view s, size_t i, bool& complete) {
  Lead l = lead_of(static_cast<unsigned char>(s[i]));
  complete = l.length == 1;
  if (l.length <= 1) return 1;
  size_t n = 1;
  while (n < l.length && i + n < s.size()) {
    auto b = static_cast<unsigned char>(s[i + n]);
    bool ok = n == 1 ? (b >= l.lo && b <= l.hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
    ++n;
  }
  complete = n == l.length;
  return n;
}

}  // namespace

size_t valid_sequence_length(std::string_view s, size_t i) {
  bool complete = false;
  size_t n = prefix_length(s, i, complete);
  return complete ? n : 0;
}

size_t first_invalid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = valid_sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

char32_t decode_at(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1: return b(0);
    case 2: return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
    case 3: return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    default: return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
  }
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    bool complete = false;
    size_t n = prefix_length(bytes, i, complete);
    if (complete)
      out.append(bytes.substr(i, n));
    else
      out += "\xEF\xBF\xBD";   // U+FFFD for the maximal invalid subpart
    i += n;
  }
  return out;
}

bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

const std::array<std::string, 256>& byte_to_char() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) append_utf8(t[b], printable(b) ? static_cast<char32_t>(b) : next++);
    return t;
  }();
  return table;
}

const std::unordered_map<char32_t, unsigned char>& char_to_byte() {
  static const std::unordered_map<char32_t, unsigned char> table = [] {
    std::unordered_map<char32_t, unsigned char> t;
    const auto& fwd = byte_to_char();
    for (int b = 0; b < 256; ++b) t[decode_at(fwd[b], 0, fwd[b].size())] = static_cast<unsigned char>(b);
    return t;
  }();
  return table;
}

// ---------------------------------------------------------------- NFC
namespace {

struct CombiningRun {
  char32_t first, last;
  int cls;
};
struct Decomposition {
  char32_t cp;
  char32_t to[4];   // zero-padded full canonical decomposition
};
struct Composition {
  char32_t first, second, composite;
};
#include "core/model/unicode_data.inc"

// Hangul syllables decompose and compose by arithmetic (Unicode 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

int combining_class(char32_t c) {
  auto it = std::upper_bound(std::begin(kCombining), std::end(kCombining), c,
                             [](char32_t v, const CombiningRun& r) { return v < r.first; });
  if (it == std::begin(kCombining)) return 0;
  --it;
  return c <= it->last ? it->cls : 0;
}

void decompose(char32_t c, std::vector<char32_t>& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + s % kNCount / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  auto it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), c,
                             [](const Decomposition& d, char32_t v) { return d.cp < v; });
  if (it == std::end(kDecompositions) || it->cp != c) {
    out.push_back(c);
    return;
  }
  for (char32_t t : it->to)
    if (t) out.push_back(t);
}

char32_t compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::make_pair(a, b),
                             [](const Composition& c, const std::pair<char32_t, char32_t>& v) {
                               return std::make_pair(c.first, c.second) < v;
                             });
  if (it == std::end(kCompositions) || it->first != a || it->second != b) return 0;
  return it->composite;
}

}  // namespace

std::string nfc(std::string_view s) {
  std::vector<char32_t> cps;
  bool stable = true;   // nothing below U+0300 decomposes, combines or reorders
  for (size_t i = 0; i < s.size();) {
    size_t n = valid_sequence_length(s, i);
    if (n == 0) return std::string(s);   // callers validate; never mangle bytes here
    char32_t c = decode_at(s, i, n);
    stable = stable && c < 0x300;
    decompose(c, cps);
    i += n;
  }
  if (stable) return std::string(s);

  // Canonical ordering: stable sort of each run of non-starters by class.
  for (size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }

  // Canonical composition: a character joins the last starter unless a
  // character between them has class 0 or a class >= its own (is "blocking").
  std::vector<char32_t> out;
  long starter = -1;
  int last_class = 0;
  for (char32_t c : cps) {
    int cls = combining_class(c);
    bool adjacent = starter >= 0 && out.size() == static_cast<size_t>(starter) + 1;
    if (starter >= 0 && (adjacent || last_class < cls)) {
      if (char32_t composite = compose(out[starter], c)) {
        out[starter] = composite;
        continue;
      }
    }
    if (cls == 0) starter = static_cast<long>(out.size());
    last_class = cls;
    out.push_back(c);
  }
  std::string result;
  result.reserve(s.size());
  for (char32_t c : out) append_utf8(result, c);
  return result;
}

}  // namespace qlab::unicode
