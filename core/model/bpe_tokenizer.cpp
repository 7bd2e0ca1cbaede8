#include "core/model/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/model/regex.h"
#include "core/model/unicode.h"

namespace qlab {

using nlohmann::json;

namespace {

// ---------------------------------------------------------------- splitting
// What happens to the delimiters a Split finds (`tokenizers`'
// SplitDelimiterBehavior).
enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext };

Behavior parse_behavior(const std::string& s, const std::string& where) {
  if (s == "Removed") return Behavior::Removed;
  if (s == "Isolated") return Behavior::Isolated;
  if (s == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::MergedWithNext;
  throw UsageError(where + ": split behavior \"" + s + "\" is not supported");
}

// A piece of text on its way to the model; `first` tells whether it starts at
// offset 0 of the original input (Metaspace's prepend_scheme "first").
struct Piece {
  std::string text;
  bool first;
};

// Cuts s at the regex's matches and places the delimiters as `behavior` says.
// Consecutive delimiters stay separate under the Merged* behaviours, as in
// `tokenizers`.
std::vector<Piece> split(const Piece& p, const Regex& re, Behavior behavior, bool invert) {
  struct Span {
    size_t b, e;
    bool delim;
  };
  std::vector<Span> spans;
  size_t pos = 0;
  for (auto [b, e] : re.find_all(p.text)) {
    if (b > pos) spans.push_back({pos, b, invert});
    spans.push_back({b, e, !invert});
    pos = e;
  }
  if (pos < p.text.size()) spans.push_back({pos, p.text.size(), invert});

  std::vector<Span> kept;
  switch (behavior) {
    case Behavior::Removed:
      for (auto& s : spans)
        if (!s.delim) kept.push_back(s);
      break;
    case Behavior::Isolated:
      kept = spans;
      break;
    case Behavior::MergedWithPrevious: {
      bool previous_delim = false;
      for (auto& s : spans) {
        if (s.delim && !previous_delim && !kept.empty())
          kept.back().e = s.e;
        else
          kept.push_back(s);
        previous_delim = s.delim;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool next_delim = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->delim && !next_delim && !kept.empty())
          kept.back().b = it->b;
        else
          kept.push_back(*it);
        next_delim = it->delim;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  std::vector<Piece> out;
  for (auto& s : kept)
    if (s.e > s.b) out.push_back({p.text.substr(s.b, s.e - s.b), p.first && s.b == 0});
  return out;
}

// ---------------------------------------------------------------- JSON access
std::string str(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return (it == j.end() || it->is_null()) ? fallback : it->get<std::string>();
}
bool flag(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return (it == j.end() || it->is_null()) ? fallback : it->get<bool>();
}
// A Split / Replace "pattern": {"String": literal} or {"Regex": pattern}.
std::shared_ptr<Regex> pattern_regex(const json& pattern, const std::string& where) {
  if (pattern.contains("Regex")) return std::make_shared<Regex>(pattern["Regex"].get<std::string>(), where);
  return std::make_shared<Regex>(Regex::escape(pattern.at("String").get<std::string>()), where);
}
// The steps of a component that may be a "Sequence" of them, flattened.
void flatten(const json& j, const char* list_key, std::vector<const json*>& out) {
  if (j.is_null()) return;
  if (str(j, "type") == "Sequence") {
    for (const auto& item : j.at(list_key)) flatten(item, list_key, out);
  } else {
    out.push_back(&j);
  }
}

enum class Prepend { Always, First, Never };
Prepend metaspace_scheme(const json& j) {
  if (j.contains("prepend_scheme")) {
    std::string s = j["prepend_scheme"].get<std::string>();
    return s == "always" ? Prepend::Always : s == "first" ? Prepend::First : Prepend::Never;
  }
  return flag(j, "add_prefix_space", true) ? Prepend::Always : Prepend::Never;   // older files
}

// "<0x41>" -> 0x41, or -1 for any other token (ByteFallback's test).
int byte_token_value(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) ? std::stoi(std::string(1, c), nullptr, 16) : -1; };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

}  // namespace

// ---------------------------------------------------------------- the tokenizer
struct BpeTokenizer::Impl {
  std::string path;
  TokenizerConfig config;

  // model
  std::unordered_map<std::string, int64_t> token_to_id;
  std::vector<std::string> id_to_token;
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges;   // (left id << 32 | right id) -> rank, merged id
  int64_t unk_id = -1;
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  std::array<int64_t, 256> byte_ids{};   // <0xNN> tokens, -1 when absent

  // added tokens
  struct Added {
    std::string content;
    int64_t id;
    bool special, lstrip, rstrip, normalized;
  };
  std::vector<Added> added;
  std::array<bool, 256> added_first_byte{};   // quick rejection of text positions
  std::unordered_set<int64_t> special_ids;

  // pipeline
  struct NormStep {
    std::string type, text;   // Prepend: text; Replace: regex -> text
    std::shared_ptr<Regex> re;
  };
  std::vector<NormStep> normalizer;
  struct PreStep {
    std::string type;   // "Split", "ByteLevel", "Metaspace"
    std::shared_ptr<Regex> re;
    Behavior behavior = Behavior::Isolated;
    bool invert = false, add_prefix_space = false;
    std::string replacement;
    Prepend scheme = Prepend::Always;
    bool split = true;
  };
  std::vector<PreStep> pre_tokenizer;
  struct DecStep {
    std::string type, from, to;   // Replace: from -> to; Strip: from = char
    size_t start = 0, stop = 0;
    Prepend scheme = Prepend::Always;
  };
  std::vector<DecStep> decoder;
  bool has_decoder = false;
  bool byte_level = false;
  std::vector<int64_t> prefix, suffix;   // post-processor ids around the text

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache;   // word -> ids

  std::string where(const std::string& what) const { return path + ": " + what; }
  // obj[key] of a field the file must have; `name` is its dotted path in messages.
  const json& required(const json& obj, const char* key, const std::string& name) const {
    if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) throw UsageError(where(name + " is missing"));
    return obj[key];
  }

  int64_t lookup(const std::string& token) const {
    auto it = token_to_id.find(token);
    return it == token_to_id.end() ? -1 : it->second;
  }

  void set_token(const std::string& token, int64_t id) {
    if (id < 0) throw UsageError(where("token \"" + token + "\" has a negative id"));
    if (static_cast<size_t>(id) >= id_to_token.size()) id_to_token.resize(id + 1);
    id_to_token[id] = token;
    token_to_id[token] = id;
  }

  // ---------------------------------------------------------- loading
  void load_model(const json& m) {
    if (str(m, "type", "BPE") != "BPE")
      throw UsageError(where("model type \"" + str(m, "type") + "\" is not supported (BPE only)"));
    if (!str(m, "continuing_subword_prefix").empty() || !str(m, "end_of_word_suffix").empty())
      throw UsageError(where("BPE continuing_subword_prefix / end_of_word_suffix are not supported"));
    const json& vocab = required(m, "vocab", "model.vocab");
    if (!vocab.is_object()) throw UsageError(where("model.vocab is not a map of token -> id"));
    for (const auto& [token, id] : vocab.items()) set_token(token, id.get<int64_t>());
    const json& merge_list = required(m, "merges", "model.merges");
    if (!merge_list.is_array()) throw UsageError(where("model.merges is not a list"));
    int32_t rank = 0;
    for (const auto& entry : merge_list) {
      std::string a, b;
      if (entry.is_string()) {   // "a b"
        std::string s = entry.get<std::string>();
        size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          throw UsageError(where("merge \"" + s + "\" is not two tokens separated by one space"));
        a = s.substr(0, space), b = s.substr(space + 1);
      } else {   // ["a", "b"]
        a = entry.at(0).get<std::string>(), b = entry.at(1).get<std::string>();
      }
      int64_t ia = lookup(a), ib = lookup(b), ir = lookup(a + b);
      if (ia < 0 || ib < 0 || ir < 0)
        throw UsageError(where("merge \"" + a + " " + b + "\" uses a token missing from the vocab"));
      merges.emplace(static_cast<uint64_t>(ia) << 32 | static_cast<uint64_t>(ib), Merge{rank++, static_cast<int32_t>(ir)});
    }
    std::string unk = str(m, "unk_token");
    unk_id = unk.empty() ? -1 : lookup(unk);
    byte_fallback = flag(m, "byte_fallback", false);
    fuse_unk = flag(m, "fuse_unk", false);
    ignore_merges = flag(m, "ignore_merges", false);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids[b] = lookup(name);
    }
  }

  void load_added(const json& list) {
    for (const auto& t : list) {
      Added a{t.at("content").get<std::string>(), t.at("id").get<int64_t>(), flag(t, "special", false),
              flag(t, "lstrip", false), flag(t, "rstrip", false), flag(t, "normalized", !flag(t, "special", false))};
      if (a.content.empty()) continue;
      set_token(a.content, a.id);
      if (a.special) special_ids.insert(a.id);
      added_first_byte[static_cast<unsigned char>(a.content[0])] = true;
      added.push_back(a);
    }
    // Longest first, so that the first token matching at a position is the longest.
    std::stable_sort(added.begin(), added.end(),
                     [](const Added& x, const Added& y) { return x.content.size() > y.content.size(); });
  }

  void load_normalizer(const json& j) {
    std::vector<const json*> steps;
    flatten(j, "normalizers", steps);
    for (const json* s : steps) {
      std::string type = str(*s, "type");
      if (type == "Prepend") {
        normalizer.push_back({type, s->at("prepend").get<std::string>(), nullptr});
      } else if (type == "Replace") {
        normalizer.push_back({type, s->at("content").get<std::string>(), pattern_regex(s->at("pattern"), path)});
      } else if (type == "NFC") {
        normalizer.push_back({type, "", nullptr});
      } else {
        throw UsageError(where("normalizer \"" + type + "\" is not supported"));
      }
    }
  }

  void load_pre_tokenizer(const json& j) {
    std::vector<const json*> steps;
    flatten(j, "pretokenizers", steps);
    for (const json* s : steps) {
      PreStep p;
      p.type = str(*s, "type");
      if (p.type == "Split") {
        p.re = pattern_regex(s->at("pattern"), path);
        p.behavior = parse_behavior(str(*s, "behavior"), path);
        p.invert = flag(*s, "invert", false);
      } else if (p.type == "ByteLevel") {
        p.add_prefix_space = flag(*s, "add_prefix_space", true);
        if (flag(*s, "use_regex", true))   // GPT-2's own split pattern
          p.re = std::make_shared<Regex>(
              "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", path);
        byte_level = true;
      } else if (p.type == "Metaspace") {
        p.replacement = str(*s, "replacement", "\xE2\x96\x81");
        p.scheme = metaspace_scheme(*s);
        p.split = flag(*s, "split", true);
        p.re = std::make_shared<Regex>(Regex::escape(p.replacement), path);
      } else {
        throw UsageError(where("pre_tokenizer \"" + p.type + "\" is not supported"));
      }
      pre_tokenizer.push_back(std::move(p));
    }
  }

  void load_decoder(const json& j) {
    has_decoder = !j.is_null();
    std::vector<const json*> steps;
    flatten(j, "decoders", steps);
    for (const json* s : steps) {
      DecStep d;
      d.type = str(*s, "type");
      if (d.type == "Replace") {
        const json& pat = s->at("pattern");
        if (!pat.contains("String")) throw UsageError(where("decoder Replace with a regex is not supported"));
        d.from = pat["String"].get<std::string>();
        d.to = s->at("content").get<std::string>();
      } else if (d.type == "Strip") {
        d.from = s->at("content").get<std::string>();
        d.start = s->at("start").get<size_t>();
        d.stop = s->at("stop").get<size_t>();
      } else if (d.type == "Metaspace") {
        d.from = str(*s, "replacement", "\xE2\x96\x81");
        d.scheme = metaspace_scheme(*s);
      } else if (d.type == "ByteLevel") {
        byte_level = true;
      } else if (d.type != "ByteFallback" && d.type != "Fuse") {
        throw UsageError(where("decoder \"" + d.type + "\" is not supported"));
      }
      decoder.push_back(d);
    }
  }

  // TemplateProcessing's "single" template: special tokens before and after
  // the sequence "A". ByteLevel post-processing only trims offsets.
  void load_post_processor(const json& j) {
    std::vector<const json*> steps;
    flatten(j, "processors", steps);
    for (const json* s : steps) {
      std::string type = str(*s, "type");
      if (type == "ByteLevel") continue;
      if (type != "TemplateProcessing")
        throw UsageError(where("post_processor \"" + type + "\" is not supported"));
      bool after = false;
      for (const auto& item : s->at("single")) {
        if (item.contains("Sequence")) {
          after = true;
          continue;
        }
        std::string name = item.at("SpecialToken").at("id").get<std::string>();
        const json& spec = s->at("special_tokens").at(name);
        for (const auto& id : spec.at("ids")) (after ? suffix : prefix).push_back(id.get<int64_t>());
      }
    }
  }

  // tokenizer_config.json's add_bos_token / add_eos_token win over the
  // template, as transformers' LlamaTokenizerFast rebuilds its post-processor.
  void apply_config() {
    int64_t bos = config.bos_token.empty() ? -1 : lookup(config.bos_token);
    int64_t eos = config.eos_token.empty() ? -1 : lookup(config.eos_token);
    if (config.add_bos_token >= 0) {
      prefix.clear();
      if (config.add_bos_token && bos >= 0) prefix.push_back(bos);
    }
    if (config.add_eos_token >= 0) {
      suffix.clear();
      if (config.add_eos_token && eos >= 0) suffix.push_back(eos);
    }
  }

  // ---------------------------------------------------------- encoding
  // Splits text at the added tokens of one kind (normalized or not): the
  // leftmost, then longest match wins; lstrip / rstrip swallow whitespace.
  struct Segment {
    std::string text;
    int64_t id;      // >= 0: an added token
    size_t offset;   // in the text that was split
  };
  std::vector<Segment> split_added(const std::string& text, bool normalized) const {
    std::vector<Segment> out;
    size_t gap = 0;   // start of the text not yet emitted
    for (size_t i = 0; i < text.size();) {
      const Added* hit = nullptr;
      if (added_first_byte[static_cast<unsigned char>(text[i])])
        for (const Added& a : added)
          if (a.normalized == normalized && text.compare(i, a.content.size(), a.content) == 0) {
            hit = &a;
            break;
          }
      if (!hit) {
        ++i;
        continue;
      }
      size_t b = i, e = i + hit->content.size();
      if (hit->lstrip)
        while (b > gap) {
          size_t k = b - 1;
          while (k > gap && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
          if (!unicode::is_whitespace(unicode::decode_at(text, k, b - k))) break;
          b = k;
        }
      if (hit->rstrip)
        while (e < text.size()) {
          size_t n = unicode::valid_sequence_length(text, e);
          if (!unicode::is_whitespace(unicode::decode_at(text, e, n))) break;
          e += n;
        }
      if (b > gap) out.push_back({text.substr(gap, b - gap), -1, gap});
      out.push_back({"", hit->id, b});
      gap = i = e;
    }
    if (gap < text.size()) out.push_back({text.substr(gap), -1, gap});
    return out;
  }

  std::string normalize(std::string s) const {
    for (const NormStep& n : normalizer) {
      if (n.type == "Prepend") {
        if (!s.empty()) s = n.text + s;
      } else if (n.type == "Replace") {
        std::string out;
        size_t pos = 0;
        for (auto [b, e] : n.re->find_all(s)) out.append(s, pos, b - pos).append(n.text), pos = e;
        s = out.append(s, pos, std::string::npos);
      } else {
        s = unicode::nfc(s);
      }
    }
    return s;
  }

  std::vector<Piece> pre_tokenize(Piece whole) const {
    std::vector<Piece> pieces{std::move(whole)};
    for (const PreStep& p : pre_tokenizer) {
      std::vector<Piece> next;
      for (Piece& piece : pieces) {
        if (p.type == "Split") {
          for (Piece& q : split(piece, *p.re, p.behavior, p.invert)) next.push_back(std::move(q));
        } else if (p.type == "ByteLevel") {
          if (p.add_prefix_space && piece.text.compare(0, 1, " ") != 0) piece.text = " " + piece.text;
          std::vector<Piece> parts = p.re ? split(piece, *p.re, Behavior::Isolated, false) : std::vector<Piece>{piece};
          const auto& table = unicode::byte_to_char();
          for (Piece& q : parts) {
            std::string mapped;
            for (unsigned char c : q.text) mapped += table[c];
            next.push_back({std::move(mapped), q.first});
          }
        } else {   // Metaspace
          replace_all(piece.text, " ", p.replacement);
          bool prepend = p.scheme == Prepend::Always || (p.scheme == Prepend::First && piece.first);
          if (prepend && piece.text.compare(0, p.replacement.size(), p.replacement) != 0)
            piece.text = p.replacement + piece.text;
          if (p.split)
            for (Piece& q : split(piece, *p.re, Behavior::MergedWithNext, false)) next.push_back(std::move(q));
          else
            next.push_back(std::move(piece));
        }
      }
      pieces.swap(next);
    }
    return pieces;
  }

  // BPE on one word: characters (or their <0xNN> bytes, or unk) first, then
  // repeatedly the adjacent pair of lowest merge rank, leftmost on ties.
  std::vector<int64_t> bpe(const std::string& word) const {
    if (ignore_merges) {
      int64_t id = lookup(word);
      if (id >= 0) return {id};
    }
    struct Symbol {
      int64_t id;
      int prev, next;
      bool alive;
    };
    std::vector<Symbol> sym;
    bool last_unk = false;
    for (size_t i = 0; i < word.size();) {
      size_t n = std::max<size_t>(1, unicode::valid_sequence_length(word, i));
      int64_t id = lookup(word.substr(i, n));
      bool unk = false;
      if (id >= 0) {
        sym.push_back({id, 0, 0, true});
      } else if (byte_fallback &&
                 std::all_of(word.begin() + i, word.begin() + i + n, [&](char c) { return byte_ids[static_cast<unsigned char>(c)] >= 0; })) {
        for (size_t k = i; k < i + n; ++k) sym.push_back({byte_ids[static_cast<unsigned char>(word[k])], 0, 0, true});
      } else if (unk_id >= 0) {
        unk = true;
        if (!(fuse_unk && last_unk)) sym.push_back({unk_id, 0, 0, true});
      }   // no unk token: the character is dropped, as `tokenizers` does
      last_unk = unk;
      i += n;
    }
    const int count = static_cast<int>(sym.size());
    for (int k = 0; k < count; ++k) sym[k].prev = k - 1, sym[k].next = k + 1 < count ? k + 1 : -1;

    struct Candidate {
      int32_t rank;
      int pos;
      int32_t result;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
    auto merge_of = [&](int left) -> const Merge* {
      int right = sym[left].next;
      if (right < 0) return nullptr;
      auto it = merges.find(static_cast<uint64_t>(sym[left].id) << 32 | static_cast<uint64_t>(sym[right].id));
      return it == merges.end() ? nullptr : &it->second;
    };
    auto offer = [&](int left) {
      if (const Merge* m = merge_of(left)) queue.push({m->rank, left, m->result});
    };
    for (int k = 0; k + 1 < count; ++k) offer(k);
    while (!queue.empty()) {
      Candidate c = queue.top();
      queue.pop();
      // Stale entries: the left symbol was absorbed or its pair changed.
      if (!sym[c.pos].alive) continue;
      const Merge* m = merge_of(c.pos);
      if (!m || m->rank != c.rank || m->result != c.result) continue;
      int right = sym[c.pos].next;
      sym[c.pos].id = c.result;
      sym[right].alive = false;
      sym[c.pos].next = sym[right].next;
      if (sym[right].next >= 0) sym[sym[right].next].prev = c.pos;
      if (sym[c.pos].prev >= 0) offer(sym[c.pos].prev);
      offer(c.pos);
    }
    std::vector<int64_t> ids;
    for (int k = count > 0 ? 0 : -1; k >= 0; k = sym[k].next) ids.push_back(sym[k].id);
    return ids;
  }

  void encode_word(const std::string& word, std::vector<int64_t>& out) const {
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(word);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int64_t> ids = bpe(word);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= 100000) cache.clear();   // bound memory on huge inputs
    cache.emplace(word, std::move(ids));
  }

  // ---------------------------------------------------------- decoding
  std::vector<std::string> run_decoder(std::vector<std::string> tokens) const {
    for (const DecStep& d : decoder) {
      if (d.type == "ByteLevel") {
        const auto& table = unicode::char_to_byte();
        std::string bytes;
        for (const std::string& t : tokens) {
          std::string mapped;
          bool all = true;
          for (size_t i = 0; i < t.size() && all;) {
            size_t n = std::max<size_t>(1, unicode::valid_sequence_length(t, i));
            auto it = table.find(unicode::decode_at(t, i, n));
            if (it == table.end()) all = false;
            else mapped += static_cast<char>(it->second);
            i += n;
          }
          bytes += all ? mapped : t;   // a token outside the mapping decodes to itself
        }
        tokens = {unicode::lossy(bytes)};
      } else if (d.type == "Replace") {
        for (std::string& t : tokens) replace_all(t, d.from, d.to);
      } else if (d.type == "ByteFallback") {
        std::vector<std::string> out;
        std::string pending;   // bytes of consecutive <0xNN> tokens
        size_t pending_count = 0;
        auto flush = [&] {
          if (pending_count == 0) return;
          if (unicode::first_invalid(pending) == std::string::npos) out.push_back(pending);
          else out.insert(out.end(), pending_count, "\xEF\xBF\xBD");
          pending.clear(), pending_count = 0;
        };
        for (std::string& t : tokens) {
          int b = byte_token_value(t);
          if (b >= 0) {
            pending += static_cast<char>(b), ++pending_count;
          } else {
            flush();
            out.push_back(std::move(t));
          }
        }
        flush();
        tokens.swap(out);
      } else if (d.type == "Fuse") {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens = {all};
      } else if (d.type == "Strip") {
        for (std::string& t : tokens) {
          for (size_t k = 0; k < d.start && t.compare(0, d.from.size(), d.from) == 0; ++k) t.erase(0, d.from.size());
          for (size_t k = 0; k < d.stop && t.size() >= d.from.size() &&
                             t.compare(t.size() - d.from.size(), d.from.size(), d.from) == 0; ++k)
            t.erase(t.size() - d.from.size());
        }
      } else if (d.type == "Metaspace") {
        // As `tokenizers` does: the first token loses its replacement
        // characters (the prepended one), the others turn them into spaces.
        for (size_t i = 0; i < tokens.size(); ++i)
          replace_all(tokens[i], d.from, i == 0 && d.scheme != Prepend::Never ? "" : " ");
      }
    }
    return tokens;
  }
};

BpeTokenizer::BpeTokenizer(const std::string& json_text, const std::string& path, const TokenizerConfig& config)
    : impl_(std::make_unique<Impl>()) {
  Impl& t = *impl_;
  t.path = path;
  t.config = config;
  try {
    json j = json::parse(json_text);
    t.load_model(t.required(j, "model", "model"));
    if (j.contains("added_tokens")) t.load_added(j["added_tokens"]);
    t.load_normalizer(j.value("normalizer", json()));
    t.load_pre_tokenizer(j.value("pre_tokenizer", json()));
    t.load_decoder(j.value("decoder", json()));
    t.load_post_processor(j.value("post_processor", json()));
  } catch (const json::exception& e) {
    throw UsageError(path + ": " + e.what());
  }
  t.apply_config();
}

BpeTokenizer::~BpeTokenizer() = default;

std::vector<int64_t> BpeTokenizer::encode(const std::string& text, bool add_special) const {
  const Impl& t = *impl_;
  size_t bad = unicode::first_invalid(text);
  if (bad != std::string::npos)
    throw UsageError("tokenizer input: not valid UTF-8 at byte " + std::to_string(bad));
  std::vector<int64_t> ids;
  if (add_special) ids = t.prefix;
  for (const Impl::Segment& raw : t.split_added(text, false)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    for (const Impl::Segment& seg : t.split_added(t.normalize(raw.text), true)) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      for (const Piece& p : t.pre_tokenize({seg.text, raw.offset == 0 && seg.offset == 0})) t.encode_word(p.text, ids);
    }
  }
  if (add_special) ids.insert(ids.end(), t.suffix.begin(), t.suffix.end());
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  const Impl& t = *impl_;
  std::vector<std::string> tokens;
  for (int64_t id : ids) {
    // Ids the tokenizer does not know (a model's padded vocabulary) are
    // skipped, as `tokenizers` does.
    if (id < 0 || static_cast<size_t>(id) >= t.id_to_token.size() || t.id_to_token[id].empty()) continue;
    if (skip_special && t.special_ids.count(id)) continue;
    tokens.push_back(t.id_to_token[id]);
  }
  if (!t.has_decoder) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  std::string out;
  for (const std::string& s : t.run_decoder(std::move(tokens))) out += s;
  return out;
}

int64_t BpeTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

int64_t BpeTokenizer::bos_id() const {
  if (!impl_->config.bos_token.empty()) {
    int64_t id = impl_->lookup(impl_->config.bos_token);
    if (id >= 0) return id;
  }
  return impl_->prefix.empty() ? -1 : impl_->prefix.front();
}

std::vector<int64_t> BpeTokenizer::eos_ids() const {
  if (!impl_->config.eos_token.empty()) {
    int64_t id = impl_->lookup(impl_->config.eos_token);
    if (id >= 0) return {id};
  }
  return impl_->suffix.empty() ? std::vector<int64_t>{} : std::vector<int64_t>{impl_->suffix.back()};
}

int64_t BpeTokenizer::pad_id() const {
  int64_t pad = impl_->config.pad_token.empty() ? -1 : impl_->lookup(impl_->config.pad_token);
  if (pad >= 0) return pad;
  auto eos = eos_ids();
  return eos.empty() ? -1 : eos.front();
}

std::string BpeTokenizer::kind() const { return impl_->byte_level ? "byte_level_bpe" : "sentencepiece_bpe"; }

std::string BpeTokenizer::chat_template() const { return impl_->config.chat_template; }

}  // namespace qlab
