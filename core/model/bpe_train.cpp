#include "core/model/bpe_train.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <queue>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "core/error.h"
#include "core/atomic_file.h"
#include "core/model/regex.h"
#include "core/model/unicode.h"

namespace qlab {

const char* const kSplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const std::vector<std::string>& chat_special_tokens() {
  static const std::vector<std::string> tokens{"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  return tokens;
}

namespace {

using Pair = uint64_t;   // left id << 32 | right id
Pair pair_of(int32_t a, int32_t b) { return static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32 | static_cast<uint32_t>(b); }

// Unique words of the corpus and how often each occurs. The pieces between
// the pattern's matches count as words too, as the Split(Isolated) the
// tokenizer runs keeps them.
std::unordered_map<std::string, int64_t> count_words(const std::string& corpus) {
  const Regex re(kSplitPattern, "bpe_train");
  std::unordered_map<std::string, int64_t> counts;
  auto count_segment = [&](std::string_view seg) {
    size_t pos = 0;
    for (auto [b, e] : re.find_all(seg)) {
      if (b > pos) ++counts[std::string(seg.substr(pos, b - pos))];
      ++counts[std::string(seg.substr(b, e - b))];
      pos = e;
    }
    if (pos < seg.size()) ++counts[std::string(seg.substr(pos))];
  };
  // Cut at special tokens: the tokenizer never lets BPE see them.
  const auto& specials = chat_special_tokens();
  size_t gap = 0;
  for (size_t i = 0; i < corpus.size();) {
    size_t hit = 0;
    if (corpus[i] == '<')
      for (const std::string& s : specials)
        if (corpus.compare(i, s.size(), s) == 0) hit = s.size();
    if (!hit) {
      ++i;
      continue;
    }
    count_segment(std::string_view(corpus).substr(gap, i - gap));
    gap = i = i + hit;
  }
  count_segment(std::string_view(corpus).substr(gap));
  return counts;
}

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
  int64_t seen_at = -1;   // last merge that rewrote it (skips duplicate visits)
};

}  // namespace

BpeVocabulary train_bpe(const std::string& corpus, const BpeTrainOptions& o, const std::string& where) {
  const int64_t alphabet = 256 + static_cast<int64_t>(chat_special_tokens().size());
  if (o.vocab_size < alphabet)
    throw UsageError(where + ": vocabulary size " + std::to_string(o.vocab_size) +
                     " is too small for the byte alphabet (needs at least " + std::to_string(alphabet) +
                     ": 256 bytes + " + std::to_string(chat_special_tokens().size()) + " special tokens)");
  if (corpus.empty()) throw UsageError(where + ": empty corpus");
  size_t bad = unicode::first_invalid(corpus);
  if (bad != std::string::npos) throw UsageError(where + ": not valid UTF-8 at byte offset " + std::to_string(bad));

  BpeVocabulary v;
  v.specials = chat_special_tokens();
  const auto& byte_char = unicode::byte_to_char();
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_char[b]);

  // Words in a fixed order (sorted), so that ids and ties never depend on hashing.
  std::vector<Word> words;
  {
    auto counts = count_words(corpus);
    std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end());
    for (auto& [text, n] : sorted) {
      Word w{{}, n};
      for (unsigned char c : text) w.symbols.push_back(c);
      words.push_back(std::move(w));
    }
  }

  std::unordered_map<Pair, int64_t> pair_count;
  std::unordered_map<Pair, std::vector<int32_t>> pair_words;   // may hold stale or repeated entries
  // Max-heap on (count, then smallest pair); entries whose count is stale are skipped.
  using Entry = std::pair<int64_t, Pair>;
  auto lower = [](const Entry& x, const Entry& y) { return x.first != y.first ? x.first < y.first : x.second > y.second; };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);

  auto add_pairs = [&](int32_t wi, int64_t sign, std::vector<Pair>& touched) {
    const Word& w = words[wi];
    for (size_t k = 0; k + 1 < w.symbols.size(); ++k) {
      Pair p = pair_of(w.symbols[k], w.symbols[k + 1]);
      pair_count[p] += sign * w.count;
      if (sign > 0) pair_words[p].push_back(wi);
      touched.push_back(p);
    }
  };
  {
    std::vector<Pair> touched;
    for (int32_t wi = 0; wi < static_cast<int32_t>(words.size()); ++wi) add_pairs(wi, +1, touched);
    for (const auto& [p, n] : pair_count) heap.push({n, p});
  }

  const int64_t max_merges = o.vocab_size - alphabet;
  while (static_cast<int64_t>(v.merges.size()) < max_merges && !heap.empty()) {
    auto [n, p] = heap.top();
    heap.pop();
    auto it = pair_count.find(p);
    if (it == pair_count.end() || it->second != n) continue;   // stale
    if (n < std::max<int64_t>(o.min_frequency, 1)) break;
    const int32_t a = static_cast<int32_t>(p >> 32), b = static_cast<int32_t>(p & 0xffffffffu);
    const int32_t merged = static_cast<int32_t>(v.tokens.size());
    const int64_t stamp = static_cast<int64_t>(v.merges.size());
    v.merges.emplace_back(a, b);
    v.tokens.push_back(v.tokens[a] + v.tokens[b]);

    std::vector<Pair> touched;
    std::vector<int32_t> visit;
    visit.swap(pair_words[p]);
    for (int32_t wi : visit) {
      Word& w = words[wi];
      if (w.seen_at == stamp) continue;
      bool has = false;
      for (size_t k = 0; k + 1 < w.symbols.size() && !has; ++k) has = w.symbols[k] == a && w.symbols[k + 1] == b;
      if (!has) continue;
      w.seen_at = stamp;
      // Words are short: take all their pairs out, merge left to right, put them back.
      add_pairs(wi, -1, touched);
      std::vector<int32_t> out;
      for (size_t k = 0; k < w.symbols.size(); ++k) {
        if (k + 1 < w.symbols.size() && w.symbols[k] == a && w.symbols[k + 1] == b) {
          out.push_back(merged);
          ++k;
        } else {
          out.push_back(w.symbols[k]);
        }
      }
      w.symbols.swap(out);
      add_pairs(wi, +1, touched);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (Pair t : touched) {
      auto c = pair_count.find(t);
      if (c->second > 0) heap.push({c->second, t});
      else pair_count.erase(c), pair_words.erase(t);
    }
  }
  return v;
}

std::string tokenizer_json(const BpeVocabulary& v) {
  using nlohmann::ordered_json;
  ordered_json vocab = ordered_json::object();
  for (size_t id = 0; id < v.tokens.size(); ++id) vocab[v.tokens[id]] = id;
  ordered_json merges = ordered_json::array();
  // "left right": byte-level tokens never hold a space (it maps to "Ġ").
  for (auto [a, b] : v.merges) merges.push_back(v.tokens[a] + " " + v.tokens[b]);
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < v.specials.size(); ++i)
    added.push_back({{"id", v.tokens.size() + i}, {"content", v.specials[i]}, {"single_word", false},
                     {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}});
  ordered_json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", kSplitPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
                          byte_level}}};
  j["post_processor"] = byte_level;
  j["decoder"] = byte_level;
  j["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                {"vocab", vocab}, {"merges", merges}};
  return j.dump(1) + "\n";
}

std::string tokenizer_config_json() {
  const std::string chatml =
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
      "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  nlohmann::ordered_json j;
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  j["add_bos_token"] = false;
  j["add_eos_token"] = false;
  j["bos_token"] = nullptr;
  j["eos_token"] = "<|im_end|>";
  j["pad_token"] = "<|endoftext|>";
  j["unk_token"] = nullptr;
  j["clean_up_tokenization_spaces"] = false;
  j["model_max_length"] = 1000000;
  j["chat_template"] = chatml;
  return j.dump(2) + "\n";
}

void write_tokenizer(const BpeVocabulary& vocab, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir)) throw UsageError(dir + ": cannot create the output directory");
  write_file_atomically(dir + "/tokenizer.json", tokenizer_json(vocab));
  write_file_atomically(dir + "/tokenizer_config.json", tokenizer_config_json());
}

}  // namespace qlab
