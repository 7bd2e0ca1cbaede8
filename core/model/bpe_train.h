// Byte-level BPE training: from a corpus to a Hugging Face tokenizer.json and
// tokenizer_config.json that core/model/bpe_tokenizer.h (and transformers'
// PreTrainedTokenizerFast) read. Torch-free.
//
// The tokenizer it makes:
//  - pre-tokenizer: Split by LLaMA-3's pattern (kSplitPattern: contractions,
//    letter runs with one leading non-letter, digits in groups of up to 3,
//    punctuation runs, newlines, whitespace), then ByteLevel without its own
//    regex: every byte becomes a GPT-2 printable character;
//  - model: the 256 byte characters (ids 0..255, in byte order), then one
//    token per merge (ids 256.., in merge order);
//  - added tokens after them: <|endoftext|>, <|im_start|>, <|im_end|>
//    (special, never split, recognised in the text);
//  - tokenizer_config.json: chatml chat template (detect_chat_template says
//    "chatml"), eos <|im_end|> (generation stops after an assistant turn),
//    pad <|endoftext|>, no BOS (chatml places none).
//
// Training: special-token occurrences are cut out of the corpus, the rest is
// split into words and the words counted; then, over the unique words, the
// most frequent adjacent pair is merged until the vocabulary is full or no
// pair occurs at least min_frequency times. Ties go to the pair whose
// (left id, right id) is smallest, so that the same corpus gives the same file.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qlab {

struct BpeTrainOptions {
  int64_t vocab_size = 1024;     // bytes + merges + special tokens, at most
  int64_t min_frequency = 2;     // a pair seen fewer times is not merged
};

struct BpeVocabulary {
  std::vector<std::string> tokens;                       // id -> token (GPT-2 characters), merges' results included
  std::vector<std::pair<int32_t, int32_t>> merges;       // merge i makes token 256 + i
  std::vector<std::string> specials;                     // ids tokens.size() ...
  int64_t size() const { return static_cast<int64_t>(tokens.size() + specials.size()); }
};

// LLaMA-3's pre-tokenizer split pattern.
extern const char* const kSplitPattern;
// <|endoftext|>, <|im_start|>, <|im_end|>, in id order.
const std::vector<std::string>& chat_special_tokens();

// Throws UsageError "<where>: vocabulary size N is too small for the byte
// alphabet (needs at least 259: 256 bytes + 3 special tokens)" and "<where>:
// empty corpus". `where` names the input in messages.
BpeVocabulary train_bpe(const std::string& corpus, const BpeTrainOptions& options, const std::string& where);

std::string tokenizer_json(const BpeVocabulary& vocab);
std::string tokenizer_config_json();
// Writes tokenizer.json and tokenizer_config.json into dir (created), each atomically.
void write_tokenizer(const BpeVocabulary& vocab, const std::string& dir);

}  // namespace qlab
