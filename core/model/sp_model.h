// A SentencePiece tokenizer.model (LLaMA-1/2, Mistral and llama2.c
// checkpoints without a tokenizer.json), read without libsentencepiece.
//
// Why by hand: on Debian 12, libsentencepiece carries its own copy of
// protobuf-lite 3.14 with exported symbols, and LibTorch loads libprotobuf
// 3.21; in one process either the binary crashes before main or every Load()
// fails the protobuf version check. The file is a small protobuf message
// (ModelProto: pieces, trainer spec, normalizer spec), so this reads its wire
// format directly and turns a BPE model into the equivalent tokenizer.json,
// the way transformers' LlamaConverter does, for BpeTokenizer to run:
//  - vocab = every piece by id; merges = for each normal piece, every split
//    into two pieces of the vocabulary, ordered by the piece's score (highest
//    first): SentencePiece BPE merges the adjacent pair whose union scores
//    highest, which is BPE by this rank;
//  - control and unknown pieces are special added tokens, user-defined pieces
//    ordinary added tokens (split out of the text before encoding, which is
//    transformers' legacy behaviour);
//  - normalizer: the spec's remove_extra_whitespaces (strip, collapse runs of
//    spaces), add_dummy_prefix ("▁" in front) and escape_whitespaces (" " ->
//    "▁"); decoder: "▁" -> " ", byte fallback, fuse, strip the dummy prefix;
//  - BOS is prepended by default (tokenizer_config.json may say otherwise).
// Unigram models and models with a precompiled normalization charsmap (a
// name other than "identity") are refused: no LLaMA-family model uses them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qlab {

struct SpModel {
  enum PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = kNormal;
  };
  std::vector<Piece> pieces;   // index = id
  int model_type = 1;          // 1 unigram, 2 BPE, 3 word, 4 char
  bool byte_fallback = false;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  std::string normalizer_name;
  bool has_charsmap = false;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;

  // Throws UsageError naming the file on a truncated or malformed message.
  static SpModel read(const std::string& path);
  // The same from bytes in memory; `path` only names them in errors.
  static SpModel parse(const uint8_t* data, size_t size, const std::string& path);
  // The equivalent Hugging Face tokenizer.json; throws UsageError for what
  // BpeTokenizer cannot run (see above).
  std::string to_tokenizer_json(const std::string& path_for_errors) const;
};

}  // namespace qlab
