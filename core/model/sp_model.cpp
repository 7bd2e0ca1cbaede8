#include "core/model/sp_model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <tuple>
#include <unordered_map>

#include "core/error.h"
#include "core/model/unicode.h"

namespace qlab {
namespace {

using nlohmann::json;

// Protobuf wire format: each field is a varint key (number << 3 | wire type)
// followed by a varint (0), 8 bytes (1), a length and that many bytes (2) or
// 4 bytes (5).
class Wire {
 public:
  Wire(const uint8_t* begin, const uint8_t* end, const std::string& path) : p_(begin), end_(end), path_(path) {}
  bool done() const { return p_ >= end_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  // A length-delimited field's bytes, as a reader of their own.
  Wire sub() {
    uint64_t n = varint();
    need(n);
    Wire w(p_, p_ + n, path_);
    p_ += n;
    return w;
  }
  std::string bytes() {
    Wire w = sub();
    return std::string(reinterpret_cast<const char*>(w.p_), w.end_ - w.p_);
  }
  float fixed32_float() {
    need(4);
    float f;
    std::memcpy(&f, p_, 4);   // little-endian on every platform qlab builds for
    p_ += 4;
    return f;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1: need(8), p_ += 8; return;
      case 2: sub(); return;
      case 5: need(4), p_ += 4; return;
      default: fail("unsupported protobuf wire type " + std::to_string(wire_type));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw UsageError(path_ + ": not a SentencePiece model (" + what + ")");
  }

 private:
  void need(uint64_t n) const {
    if (static_cast<uint64_t>(end_ - p_) < n) fail("truncated");
  }
  const uint8_t* p_;
  const uint8_t* end_;
  const std::string& path_;
};

// Reads the fields of one message, calling on_field(number, wire_type, reader)
// for each; the callback consumes the value or calls skip.
template <class F>
void for_each_field(Wire& w, F&& on_field) {
  while (!w.done()) {
    uint64_t key = w.varint();
    on_field(static_cast<int>(key >> 3), static_cast<int>(key & 7), w);
  }
}

int as_int32(uint64_t v) { return static_cast<int>(static_cast<int32_t>(static_cast<uint32_t>(v))); }

}  // namespace

SpModel SpModel::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot open the SentencePiece model");
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse(data.data(), data.size(), path);
}

SpModel SpModel::parse(const uint8_t* data, size_t size, const std::string& path) {
  SpModel m;
  Wire top(data, data + size, path);
  for_each_field(top, [&](int field, int type, Wire& w) {
    if (field == 1 && type == 2) {   // repeated SentencePiece
      Wire pw = w.sub();
      Piece piece;
      for_each_field(pw, [&](int f, int t, Wire& x) {
        if (f == 1 && t == 2) piece.text = x.bytes();
        else if (f == 2 && t == 5) piece.score = x.fixed32_float();
        else if (f == 3 && t == 0) {
          uint64_t type_value = x.varint();
          if (type_value < kNormal || type_value > kByte) x.fail("piece type " + std::to_string(type_value));
          piece.type = static_cast<PieceType>(type_value);
        } else {
          x.skip(t);
        }
      });
      m.pieces.push_back(std::move(piece));
    } else if (field == 2 && type == 2) {   // TrainerSpec
      Wire tw = w.sub();
      for_each_field(tw, [&](int f, int t, Wire& x) {
        if (t != 0) return x.skip(t);
        uint64_t v = x.varint();
        if (f == 3) m.model_type = as_int32(v);
        else if (f == 35) m.byte_fallback = v != 0;
        else if (f == 40) m.unk_id = as_int32(v);
        else if (f == 41) m.bos_id = as_int32(v);
        else if (f == 42) m.eos_id = as_int32(v);
        else if (f == 43) m.pad_id = as_int32(v);
      });
    } else if (field == 3 && type == 2) {   // NormalizerSpec
      Wire nw = w.sub();
      for_each_field(nw, [&](int f, int t, Wire& x) {
        if (f == 1 && t == 2) m.normalizer_name = x.bytes();
        else if (f == 2 && t == 2) m.has_charsmap = !x.bytes().empty();
        else if (f == 3 && t == 0) m.add_dummy_prefix = x.varint() != 0;
        else if (f == 4 && t == 0) m.remove_extra_whitespaces = x.varint() != 0;
        else if (f == 5 && t == 0) m.escape_whitespaces = x.varint() != 0;
        else x.skip(t);
      });
    } else {
      w.skip(type);
    }
  });
  if (m.pieces.empty()) top.fail("no pieces");
  for (const Piece& p : m.pieces)
    if (unicode::first_invalid(p.text) != std::string::npos) top.fail("a piece is not valid UTF-8");
  return m;
}

std::string SpModel::to_tokenizer_json(const std::string& path) const {
  if (model_type != 2)
    throw UsageError(path + ": SentencePiece model type " + std::to_string(model_type) +
                     " is not supported (BPE only, as every LLaMA-family tokenizer.model is)");
  if (has_charsmap && normalizer_name != "identity")
    throw UsageError(path + ": SentencePiece normalizer \"" + normalizer_name +
                     "\" is not supported (identity only); supply a tokenizer.json");
  const int n = static_cast<int>(pieces.size());
  auto piece_at = [&](int id) { return id >= 0 && id < n ? pieces[id].text : std::string(); };

  json vocab = json::object();
  std::unordered_map<std::string, int> id_of;
  for (int id = 0; id < n; ++id)
    if (id_of.emplace(pieces[id].text, id).second) vocab[pieces[id].text] = id;

  struct Merge {
    int result, left, right;
  };
  std::vector<Merge> merges;
  for (int id = 0; id < n; ++id) {
    if (pieces[id].type != kNormal) continue;
    const std::string& s = pieces[id].text;
    for (size_t k = unicode::valid_sequence_length(s, 0); k < s.size(); k += unicode::valid_sequence_length(s, k)) {
      auto l = id_of.find(s.substr(0, k)), r = id_of.find(s.substr(k));
      if (l != id_of.end() && r != id_of.end()) merges.push_back({id, l->second, r->second});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [&](const Merge& a, const Merge& b) {
    if (pieces[a.result].score != pieces[b.result].score) return pieces[a.result].score > pieces[b.result].score;
    return std::tie(a.left, a.right) < std::tie(b.left, b.right);
  });
  json merge_list = json::array();
  for (const Merge& m : merges) merge_list.push_back({pieces[m.left].text, pieces[m.right].text});

  json added = json::array();
  for (int id = 0; id < n; ++id) {
    PieceType t = pieces[id].type;
    if (t != kControl && t != kUnknown && t != kUserDefined) continue;
    bool special = t != kUserDefined;
    added.push_back({{"id", id}, {"content", pieces[id].text}, {"special", special}, {"normalized", false},
                     {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
  }

  const std::string meta = "\xE2\x96\x81";   // "▁"
  json normalizers = json::array();
  if (remove_extra_whitespaces) {
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"Regex", "^ +| +$"}}}, {"content", ""}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}});
  }
  if (add_dummy_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", meta}});
  if (escape_whitespaces) normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", meta}});

  json decoders = json::array({{{"type", "Replace"}, {"pattern", {{"String", meta}}}, {"content", " "}},
                               {{"type", "ByteFallback"}}, {{"type", "Fuse"}}});
  if (add_dummy_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});

  json post = nullptr;
  std::string bos = piece_at(bos_id);
  if (!bos.empty())
    post = {{"type", "TemplateProcessing"},
            {"single", json::array({{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
            {"special_tokens", {{bos, {{"id", bos}, {"ids", {bos_id}}, {"tokens", {bos}}}}}}};

  json model = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}, {"unk_token", piece_at(unk_id)},
                {"byte_fallback", byte_fallback}, {"fuse_unk", true}};
  json tok = {{"model", model},
              {"added_tokens", added},
              {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
              {"pre_tokenizer", nullptr},
              {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
              {"post_processor", post}};
  return tok.dump();
}

}  // namespace qlab
