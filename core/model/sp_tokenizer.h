// A SentencePiece tokenizer.model (LLaMA-1/2 and llama2.c checkpoints without a
// tokenizer.json), run by libsentencepiece the way transformers' slow
// LlamaTokenizer (legacy mode) runs it: control and unknown pieces written in
// the text ("<s>", "</s>", "<unk>") are split out first, each remaining segment
// is encoded by SentencePiece (which adds its dummy-prefix "▁"), BOS is
// prepended unless tokenizer_config.json sets add_bos_token false, EOS is
// appended only when it sets add_eos_token true.
#pragma once
#include <memory>
#include <string>
#include <utility>

#include "core/model/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace qlab {

class SpTokenizer : public Tokenizer {
 public:
  SpTokenizer(const std::string& model_path, const TokenizerConfig& config);
  ~SpTokenizer() override;

  std::vector<int64_t> encode(const std::string& text, bool add_special = true) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const override;
  int64_t vocab_size() const override;
  int64_t bos_id() const override;
  std::vector<int64_t> eos_ids() const override;
  int64_t pad_id() const override;
  std::string kind() const override { return "sentencepiece_model"; }
  std::string chat_template() const override { return config_.chat_template; }

 private:
  bool is_special(int id) const;              // control or unknown piece
  int64_t piece_id(const std::string& piece) const;   // -1 when empty or unknown

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  TokenizerConfig config_;
  std::vector<std::pair<std::string, int>> specials_;   // matched in text, longest first
};

}  // namespace qlab
