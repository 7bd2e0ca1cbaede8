// A pre-tokenizer split pattern: PCRE2 in UTF + UCP mode (\p{L}, \s, (?i:...)
// and lookaheads as the `tokenizers` library's Oniguruma patterns mean them),
// JIT-compiled when the platform allows. Shared by the tokenizer reader
// (core/model/bpe_tokenizer.h) and the BPE trainer (core/model/bpe_train.h),
// so that training splits words exactly as encoding will. Torch-free.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace qlab {

class Regex {
 public:
  // Throws UsageError "<where>: regex /.../ at offset N: reason" when the
  // pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);

  // [begin, end) of each non-empty match, left to right. Assumes valid UTF-8
  // (callers validate once); safe to call from many threads.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view s) const;

  // The literal as a pattern (ASCII punctuation escaped).
  static std::string escape(const std::string& literal);

 private:
  std::shared_ptr<pcre2_real_code_8> code_;
};

}  // namespace qlab
