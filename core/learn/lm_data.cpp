#include "core/learn/lm_data.h"

#include <random>

#include "core/error.h"

namespace qlab {

MaskedTokens tokenize_conversation(const Tokenizer& tok, const std::string& chat_template, const Conversation& conv) {
  auto render = [&](size_t n, bool generation_prompt) {
    return render_chat(chat_template, Conversation(conv.begin(), conv.begin() + n), generation_prompt, "", "");
  };
  MaskedTokens out;
  auto append = [&](const std::string& text, uint8_t trained) {
    for (int64_t id : tok.encode(text, false)) out.ids.push_back(id), out.mask.push_back(trained);
  };
  size_t done = 0;   // characters of the full rendering already encoded
  const std::string full = render(conv.size(), false);
  for (size_t i = 0; i < conv.size(); ++i) {
    if (conv[i].role != "assistant") continue;
    const std::string before = render(i, true), through = render(i + 1, false);
    if (full.compare(0, before.size(), before) != 0 || full.compare(0, through.size(), through) != 0 ||
        through.compare(0, before.size(), before) != 0)
      throw UsageError("chat template \"" + chat_template +
                       "\": cannot mark assistant turns (its generation prompt is not a prefix of the answered "
                       "conversation); use a chatml or llama-3 tokenizer");
    append(full.substr(done, before.size() - done), 0);
    append(full.substr(before.size(), through.size() - before.size()), 1);
    done = through.size();
  }
  append(full.substr(done), 0);
  return out;
}

LmData::LmData(std::vector<int64_t> text_ids, std::vector<MaskedTokens> chats, int64_t pad, const Options& o,
               const std::string& text_name)
    : text_(std::move(text_ids)), chats_(std::move(chats)), pad_(pad), options_(o) {
  if (!text_.empty() && static_cast<int64_t>(text_.size()) < o.seq_len + 1)
    throw UsageError(text_name + ": the corpus has " + std::to_string(text_.size()) +
                     " tokens, fewer than --seq-len + 1 = " + std::to_string(o.seq_len + 1));
}

Batch LmData::batch_at(int64_t step) const {
  const int64_t B = options_.batch, T = options_.seq_len;
  // A generator of (seed, step) alone: see the header.
  std::seed_seq seq{static_cast<uint64_t>(options_.seed), static_cast<uint64_t>(step), uint64_t(0x71a1)};
  std::mt19937_64 rng(seq);
  std::vector<int64_t> ids(B * (T + 1), pad_);
  std::vector<float> w(B * T, 0.f);
  for (int64_t r = 0; r < B; ++r) {
    const bool chat = text_.empty() || (!chats_.empty() && double(rng() >> 11) * 0x1.0p-53 < options_.chat_fraction);
    int64_t* row = ids.data() + r * (T + 1);
    float* wr = w.data() + r * T;
    if (chat) {
      const MaskedTokens& c = chats_[rng() % chats_.size()];
      const int64_t n = std::min<int64_t>(static_cast<int64_t>(c.ids.size()), T + 1);
      for (int64_t t = 0; t < n; ++t) row[t] = c.ids[t];
      for (int64_t t = 0; t + 1 < n; ++t) wr[t] = options_.all_tokens ? 1.f : float(c.mask[t + 1]);
    } else {
      const uint64_t start = rng() % (text_.size() - T);
      for (int64_t t = 0; t <= T; ++t) row[t] = text_[start + t];
      for (int64_t t = 0; t < T; ++t) wr[t] = 1.f;
    }
  }
  torch::Tensor all = torch::tensor(ids, torch::kInt64).view({B, T + 1});
  return {all.slice(1, 0, T).contiguous(), all.slice(1, 1, T + 1).contiguous(),
          torch::tensor(w, torch::kFloat32).view({B, T})};
}

}  // namespace qlab
