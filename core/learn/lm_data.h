// The batches a language model trains on, drawn from a plain-text corpus
// and/or chat conversations, as a function of (seed, step) only: a resumed run
// draws exactly the batches the uninterrupted one would have, so a training
// checkpoint needs no generator state.
//
//  - text: tokenised once (no BOS/EOS added), one token stream; a row is a
//    window of seq_len + 1 tokens at a random offset, every target counted;
//  - chat: each conversation rendered with the chat template; a row is one
//    conversation, truncated to seq_len + 1 tokens and padded at the end
//    (right padding needs no attention mask under causal attention). Targets
//    count inside assistant turns only (their content and the template's end
//    of turn, e.g. "<|im_end|>\n"), or all real tokens with all_tokens;
//  - both: each row is a conversation with probability chat_fraction.
#pragma once
#include "core/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/tokenizer.h"
#include "datasets/conversations.h"

namespace qlab {

// A conversation's tokens and which of them are trained on (1) or not (0).
struct MaskedTokens {
  std::vector<int64_t> ids;
  std::vector<uint8_t> mask;
};

// Renders conv with `chat_template` (a render_chat name) and marks the
// assistant turns: an assistant message spans from the end of the prefix
// rendered with the generation prompt to the end of the prefix including it.
// Each span is encoded on its own, so that no token straddles a boundary.
// Throws UsageError when the template does not render assistant turns as an
// extension of the generation prompt (llama-2, mistral).
MaskedTokens tokenize_conversation(const Tokenizer& tok, const std::string& chat_template, const Conversation& conv);

struct Batch {
  torch::Tensor inputs;    // [B, T] int64
  torch::Tensor targets;   // [B, T] int64 (the inputs shifted by one)
  torch::Tensor weights;   // [B, T] float32: 1 where the target is trained on
};

class LmData {
 public:
  struct Options {
    int64_t batch = 8, seq_len = 128;
    double chat_fraction = 0.5;   // used when both sources are given
    bool all_tokens = false;
    uint64_t seed = 0;
  };
  // text_ids: the corpus's tokens (empty: no text); chats: tokenised
  // conversations (empty: none). pad: the id padding rows.
  LmData(std::vector<int64_t> text_ids, std::vector<MaskedTokens> chats, int64_t pad, const Options& options,
         const std::string& text_name);
  Batch batch_at(int64_t step) const;
  int64_t tokens_per_batch() const { return options_.batch * options_.seq_len; }

 private:
  std::vector<int64_t> text_;
  std::vector<MaskedTokens> chats_;
  int64_t pad_;
  Options options_;
};

}  // namespace qlab
