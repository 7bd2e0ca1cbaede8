// Byte-level BPE training: the file it writes is one our reader takes, encodes
// any UTF-8 and decodes it back, compresses the text it was trained on, keeps
// the special tokens whole, and is the same for the same corpus.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/model/bpe_train.h"
#include "core/model/chat_template.h"
#include "core/model/tokenizer.h"
#include "test_util.h"

namespace qlab {
namespace {

std::string corpus() {
  std::string s;
  const char* lines[] = {"The quick brown fox jumps over the lazy dog. ", "A lazy dog sleeps in the sun; the fox runs.\n",
                         "Numbers: 12345 and 2024, prices $3.50. ", "Привет, как дела? Хорошо, спасибо. ",
                         "emoji 😀 and 🎉 appear sometimes. ", "<|im_start|>user\nhello there<|im_end|>\n"};
  for (int i = 0; i < 40; ++i)
    for (const char* l : lines) s += l;
  return s;
}

std::unique_ptr<Tokenizer> trained(const std::string& text, int64_t vocab_size, const std::string& dir) {
  write_tokenizer(train_bpe(text, {vocab_size, 2}, "corpus"), dir);
  return Tokenizer::load(dir);
}

TEST(BpeTrain, ReaderLoadsItAndItRoundTripsArbitraryUtf8) {
  const std::string dir = test::temp_dir("bpe_roundtrip");
  auto tok = trained(corpus(), 400, dir);
  EXPECT_EQ(tok->kind(), "byte_level_bpe");
  EXPECT_LE(tok->vocab_size(), 400);
  EXPECT_GT(tok->vocab_size(), 300);   // the corpus has enough repeated pairs
  // Text unlike the corpus: other scripts, rare emoji, control characters,
  // runs of spaces and newlines.
  for (std::string s : {std::string("Zoë's café — naïve façade"), std::string("Съешь же ещё этих мягких булок"),
                        std::string("🦊🐕‍🦺 👩‍👩‍👧 ✨"), std::string("tabs\tand   spaces\n\n\nnew lines  "),
                        std::string("日本語のテキスト、中文文本"), std::string("\x01\x7f odd bytes")}) {
    std::vector<int64_t> ids = tok->encode(s, false);
    EXPECT_EQ(tok->decode(ids, false), s);
  }
}

TEST(BpeTrain, MergesShortenTheTrainingText) {
  const std::string dir = test::temp_dir("bpe_merges");
  const std::string text = corpus();
  auto tok = trained(text, 600, dir);
  const std::string sample = "The quick brown fox jumps over the lazy dog. ";
  // Without merges every byte is a token.
  EXPECT_LT(tok->encode(sample, false).size() * 3, sample.size());
  EXPECT_LT(tok->encode(text, false).size() * 2, text.size());
}

TEST(BpeTrain, SpecialTokensAreSingleIdsAndTheConfigSaysChatml) {
  const std::string dir = test::temp_dir("bpe_specials");
  auto tok = trained(corpus(), 400, dir);
  const int64_t n = tok->vocab_size();
  EXPECT_EQ(tok->encode("<|endoftext|>", false), std::vector<int64_t>{n - 3});
  EXPECT_EQ(tok->encode("<|im_start|>", false), std::vector<int64_t>{n - 2});
  EXPECT_EQ(tok->encode("<|im_end|>", false), std::vector<int64_t>{n - 1});
  std::vector<int64_t> ids = tok->encode("<|im_start|>user\nhi<|im_end|>", false);
  EXPECT_EQ(ids.front(), n - 2);
  EXPECT_EQ(ids.back(), n - 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int64_t>{n - 1});
  EXPECT_EQ(tok->pad_id(), n - 3);
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(detect_chat_template("llama", tok->chat_template()), "chatml");
  // add_special adds nothing: chatml has no BOS.
  EXPECT_EQ(tok->encode("hello", true), tok->encode("hello", false));
}

TEST(BpeTrain, SameCorpusSameBytes) {
  const std::string text = corpus();
  const std::string a = tokenizer_json(train_bpe(text, {500, 2}, "c"));
  const std::string b = tokenizer_json(train_bpe(text, {500, 2}, "c"));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, tokenizer_json(train_bpe(text + " different tail words", {500, 2}, "c")));
}

// Worked by hand: the words are "ab", " ab" x4, " cd" x3, " xy", " yx"
// (spaces become "Ġ"). Pair counts: a-b 5, Ġ-a 4, Ġ-c 3, c-d 3, the rest 1.
// Merges: a+b (5), then Ġ+ab (4), then the tie Ġ-c / c-d (3 each) goes to
// the smaller ids (Ġ is byte 0x20 < 'c'), then Ġc+d (3); pairs seen once are
// below min_frequency 2, so training stops there.
TEST(BpeTrain, MergesInOrderOfPairFrequencyWithDeterministicTies) {
  BpeVocabulary v = train_bpe("ab ab ab ab ab cd cd cd xy yx", {270, 2}, "c");
  const std::string G = "\xC4\xA0";
  ASSERT_EQ(v.merges.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(v.tokens.begin() + 256, v.tokens.end()),
            (std::vector<std::string>{"ab", G + "ab", G + "c", G + "cd"}));
  EXPECT_EQ(v.size(), 256 + 4 + 3);
}

TEST(BpeTrain, RefusesTooSmallVocabularyEmptyAndInvalidCorpus) {
  try {
    train_bpe("some text", {258, 2}, "corpus.txt");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "corpus.txt: vocabulary size 258 is too small for the byte alphabet "
                           "(needs at least 259: 256 bytes + 3 special tokens)");
  }
  EXPECT_THROW(train_bpe("", {300, 2}, "c"), UsageError);
  try {
    train_bpe("ok \xff\xfe bad", {300, 2}, "bad.txt");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "bad.txt: not valid UTF-8 at byte offset 3");
  }
}

TEST(BpeTrain, AFewMegabytesInAFewSeconds) {
  std::string big;
  const std::string base = corpus();
  for (int i = 0; big.size() < 3000000; ++i) big += base + "variant " + std::to_string(i) + " word" + std::to_string(i % 977) + ". ";
  auto t0 = std::chrono::steady_clock::now();
  BpeVocabulary v = train_bpe(big, {2048, 2}, "big");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 10.0);
  EXPECT_GT(v.merges.size(), 300u);   // the synthetic text has few distinct frequent pairs
  std::cout << "[ info ] trained " << v.merges.size() << " merges on " << big.size() << " bytes in " << s << " s\n";
}

}  // namespace
}  // namespace qlab
