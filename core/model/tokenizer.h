// Tokenizers of Hugging Face checkpoints, torch-free:
//  - tokenizer.json with a byte-level BPE model (LLaMA-3, Qwen2) and its
//    pre-tokenizer split pattern (PCRE2, Unicode);
//  - tokenizer.json with a SentencePiece-style BPE model (metaspace "▁",
//    byte fallback <0xNN>);
//  - tokenizer.model through libsentencepiece when there is no tokenizer.json.
// Added / special tokens are matched before the model runs. BOS/EOS follow
// tokenizer_config.json (add_bos_token, add_eos_token, bos_token, eos_token).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qlab {

// What tokenizer_config.json says (all optional). Special tokens may be given
// as a string or as {"content": ...}; chat_template as a string or a list of
// {name, template} (the one named "default", else the first, is kept).
struct TokenizerConfig {
  int add_bos_token = -1;   // -1: not set (the tokenizer's own default applies)
  int add_eos_token = -1;
  std::string bos_token, eos_token, pad_token, unk_token;
  std::string chat_template;

  // Missing file: all defaults. Malformed: UsageError "file: message".
  static TokenizerConfig from_file(const std::string& path);
  static TokenizerConfig from_json_text(const std::string& text, const std::string& path_for_errors);
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Picks the implementation from the files present in dir (tokenizer.json,
  // else tokenizer.model, with tokenizer_config.json beside); throws UsageError
  // naming the missing or malformed file. dir may also be one tokenizer file
  // (*.json or *.model, e.g. llama2.c's tok512.model).
  static std::unique_ptr<Tokenizer> load(const std::string& dir);

  // add_special: prepend BOS / append EOS as the checkpoint's config says.
  virtual std::vector<int64_t> encode(const std::string& text, bool add_special = true) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const = 0;

  virtual int64_t vocab_size() const = 0;
  virtual int64_t bos_id() const = 0;                 // -1 when none
  virtual std::vector<int64_t> eos_ids() const = 0;
  virtual int64_t pad_id() const = 0;                 // falls back to an EOS id
  virtual std::string kind() const = 0;               // "byte_level_bpe", "sentencepiece_bpe"
  virtual std::string chat_template() const = 0;      // the jinja text from tokenizer_config.json, or ""
};

}  // namespace qlab
