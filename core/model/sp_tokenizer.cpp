#include "core/model/sp_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include "core/error.h"
#include "core/model/unicode.h"

namespace qlab {

SpTokenizer::SpTokenizer(const std::string& model_path, const TokenizerConfig& config)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), config_(config) {
  auto status = sp_->Load(model_path);
  if (!status.ok()) throw UsageError(model_path + ": not a SentencePiece model (" + status.ToString() + ")");
  for (int id = 0; id < sp_->GetPieceSize(); ++id)
    if (is_special(id)) specials_.emplace_back(sp_->IdToPiece(id), id);
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

SpTokenizer::~SpTokenizer() = default;

bool SpTokenizer::is_special(int id) const { return sp_->IsControl(id) || sp_->IsUnknown(id); }

int64_t SpTokenizer::piece_id(const std::string& piece) const {
  if (piece.empty()) return -1;
  int id = sp_->PieceToId(piece);
  return sp_->IsUnknown(id) && piece != sp_->IdToPiece(id) ? -1 : id;
}

std::vector<int64_t> SpTokenizer::encode(const std::string& text, bool add_special) const {
  size_t bad = unicode::first_invalid(text);
  if (bad != std::string::npos)
    throw UsageError("tokenizer input: not valid UTF-8 at byte " + std::to_string(bad));
  std::vector<int64_t> ids;
  if (add_special && config_.add_bos_token != 0 && bos_id() >= 0) ids.push_back(bos_id());
  auto encode_segment = [&](const std::string& segment) {
    if (segment.empty()) return;
    std::vector<int> piece_ids;
    sp_->Encode(segment, &piece_ids);
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  };
  size_t gap = 0;
  for (size_t i = 0; i < text.size();) {
    auto hit = std::find_if(specials_.begin(), specials_.end(),
                            [&](const auto& s) { return !s.first.empty() && text.compare(i, s.first.size(), s.first) == 0; });
    if (hit == specials_.end()) {
      ++i;
      continue;
    }
    encode_segment(text.substr(gap, i - gap));
    ids.push_back(hit->second);
    gap = i = i + hit->first.size();
  }
  encode_segment(text.substr(gap));
  if (add_special && config_.add_eos_token == 1)
    for (int64_t e : eos_ids()) ids.push_back(e);
  return ids;
}

std::string SpTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string out;
  std::vector<int> run;   // ordinary pieces, decoded together so "▁" and bytes join
  auto flush = [&] {
    std::string s;
    sp_->Decode(run, &s);
    out += s;
    run.clear();
  };
  for (int64_t id : ids) {
    if (id < 0 || id >= sp_->GetPieceSize()) continue;   // a model's padded vocabulary
    int i = static_cast<int>(id);
    if (!is_special(i)) {
      run.push_back(i);
      continue;
    }
    flush();
    if (!skip_special) out += sp_->IdToPiece(i);
  }
  flush();
  return out;
}

int64_t SpTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

int64_t SpTokenizer::bos_id() const {
  int64_t id = piece_id(config_.bos_token);
  return id >= 0 ? id : sp_->bos_id();
}

std::vector<int64_t> SpTokenizer::eos_ids() const {
  int64_t id = piece_id(config_.eos_token);
  if (id < 0) id = sp_->eos_id();
  return id >= 0 ? std::vector<int64_t>{id} : std::vector<int64_t>{};
}

int64_t SpTokenizer::pad_id() const {
  int64_t id = piece_id(config_.pad_token);
  if (id < 0) id = sp_->pad_id();
  if (id >= 0) return id;
  auto eos = eos_ids();
  return eos.empty() ? -1 : eos.front();
}

}  // namespace qlab
