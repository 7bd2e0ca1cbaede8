// A Hugging Face tokenizer.json with a BPE model, run the way the `tokenizers`
// library runs it: added tokens are split out of the text first (longest match;
// special tokens in the text are recognised), each remaining segment is
// normalized, pre-tokenized into words, and each word is merged by BPE rank;
// the post-processor's template (or tokenizer_config.json's add_bos_token /
// add_eos_token) adds BOS / EOS. Covers both LLaMA-family flavours:
//  - byte-level BPE (LLaMA-3, Qwen2): Split(regex) + ByteLevel pre-tokenizer,
//    the GPT-2 byte -> character mapping, ByteLevel decoder;
//  - SentencePiece-style BPE (LLaMA-2, Mistral converted): "▁" for spaces via
//    normalizer or Metaspace, <0xNN> byte fallback, Replace/ByteFallback/Fuse/
//    Strip decoders.
// Anything else in the file (another model type, an unknown normalizer) is
// refused with a UsageError naming it.
#pragma once
#include <memory>
#include <string>

#include "core/model/tokenizer.h"

namespace qlab {

class BpeTokenizer : public Tokenizer {
 public:
  // json_text: the content of tokenizer.json; path only names it in errors.
  BpeTokenizer(const std::string& json_text, const std::string& path, const TokenizerConfig& config);
  ~BpeTokenizer() override;

  std::vector<int64_t> encode(const std::string& text, bool add_special = true) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const override;
  int64_t vocab_size() const override;
  int64_t bos_id() const override;
  std::vector<int64_t> eos_ids() const override;
  int64_t pad_id() const override;
  std::string kind() const override;
  std::string chat_template() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qlab
