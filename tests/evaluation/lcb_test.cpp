// The Language Confusion Benchmark's rules (evaluation/common/lcb.h): the
// normalisation with expected strings written out by hand from the reference
// script's rules, the tokens, the word list rule, the per-response verdicts
// with a stub identifier, the denominators, and the fastText identifier on a
// tiny model trained here.
#include <gtest/gtest.h>

#include <fasttext/args.h>
#include <fasttext/fasttext.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/store.h"
#include "evaluation/common/lcb.h"
#include "test_util.h"

namespace qlab {
namespace {

TEST(LcbNormalize, ReferenceRules) {
  // Cut at the first "\nQ:" (the next few-shot question), then strip.
  EXPECT_EQ(lcb_normalize("Hello, world! How are you?\nQ: next question"), "Hello world How are you");
  EXPECT_EQ(lcb_normalize("line one\n\nQ: cut here\nQ: and here"), "line one");
  EXPECT_EQ(lcb_normalize("Q: at the start\nkeep"), "Q at the start\nkeep");   // no newline before it: not cut
  // Every ASCII punctuation character goes, nothing replaces it.
  EXPECT_EQ(lcb_normalize("#1 (a) [b] {c} x_y a-b \"q\" it's 50% @me ~/~"), "1 a b c xy ab q its 50 me ");
  // Strip first, then the em dash becomes a space (so a trailing one leaves a space).
  EXPECT_EQ(lcb_normalize("  \t Bonjour \xE2\x80\x94 le monde.  "), "Bonjour   le monde");
  EXPECT_EQ(lcb_normalize("dash\xE2\x80\x94"), "dash ");
  // The Arabic comma is deleted; the Arabic question mark and other non-ASCII punctuation stay.
  EXPECT_EQ(lcb_normalize("\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7\xD8\x8C \xD9\x83\xD9\x8A\xD9\x81\xD8\x9F"),
            "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD9\x83\xD9\x8A\xD9\x81\xD8\x9F");
  EXPECT_EQ(lcb_normalize("\xC2\xAB\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\xC2\xBB, \xE2\x80\xA6"),
            "\xC2\xAB\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\xC2\xBB \xE2\x80\xA6");   // «Привет» …
  // Inner newlines stay (they split lines); Python's strip also takes U+3000 and U+001F.
  EXPECT_EQ(lcb_normalize("\xE3\x80\x80 a\nb \x1F"), "a\nb");
  EXPECT_EQ(lcb_normalize(""), "");
}

TEST(LcbTokens, WhitespaceAndSegmentedStandIn) {
  EXPECT_EQ(lcb_tokens("a  b\tc\xE3\x80\x80" "d\x1C" "e", "en"), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(lcb_tokens("  ", "ru"), std::vector<std::string>{});
  // zh/ja: Latin letters and digits together, every other character alone.
  EXPECT_EQ(lcb_tokens("\xE6\x88\x91\xE7\x94\xA8Python3\xE5\x86\x99 code", "zh"),   // 我用Python3写 code
            (std::vector<std::string>{"\xE6\x88\x91", "\xE7\x94\xA8", "Python3", "\xE5\x86\x99", "code"}));
  EXPECT_EQ(lcb_tokens("\xE6\x88\x91\xE7\x94\xA8Python3", "ko"), std::vector<std::string>{"\xE6\x88\x91\xE7\x94\xA8Python3"});
}

TEST(LcbEnglishWords, LowerCaseLongerThanThree) {
  EnglishWords w({"apple", "Apple", "cat", "don't", "AIDS", "\xC3\xA9" "clair", "  tree  ", "1234", "ab'c", "a'b", "iPad"});
  for (const char* yes : {"apple", "don't", "\xC3\xA9" "clair", "tree", "ab'c"})   // ab'c: 4 code points
    EXPECT_TRUE(w.contains(yes)) << yes;
  for (const char* no : {"Apple", "cat", "AIDS", "aids", "1234", "a'b", "iPad", "ipad", "  tree  "})
    EXPECT_FALSE(w.contains(no)) << no;
  EXPECT_EQ(w.size(), 5u);
  std::string dir = test::temp_dir("lcb_words");
  test::write_file(dir + "/empty", "Apple\nCAT\ndog\n\n");
  try {
    EnglishWords::load(dir + "/empty");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/empty: no English words"), std::string::npos) << e.what();
  }
  EXPECT_THROW(EnglishWords::load(dir + "/missing"), UsageError);
  if (std::filesystem::exists("/usr/share/dict/words")) {   // Debian's wamerican
    EnglishWords sys = EnglishWords::load("/usr/share/dict/words");
    EXPECT_TRUE(sys.contains("house"));
    EXPECT_FALSE(sys.contains("House"));
    EXPECT_FALSE(sys.contains("the"));   // 3 letters
  }
}

// Labels by exact line: line -> (language, confidence); anything else unknown.
class TableLid : public LanguageIdentifier {
 public:
  explicit TableLid(std::map<std::string, LidResult> table) : table_(std::move(table)) {}
  LidResult identify(std::string_view s) const override {
    auto it = table_.find(std::string(s));
    return it == table_.end() ? LidResult{} : it->second;
  }
  std::string name() const override { return "table"; }

 private:
  std::map<std::string, LidResult> table_;
};

TEST(LcbJudge, Verdicts) {
  const std::string ru = "\xD0\xBE\xD0\xB4\xD0\xB8\xD0\xBD \xD0\xB4\xD0\xB2\xD0\xB0 \xD1\x82\xD1\x80\xD0\xB8 "
                         "\xD1\x87\xD0\xB5\xD1\x82\xD1\x8B\xD1\x80\xD0\xB5 \xD0\xBF\xD1\x8F\xD1\x82\xD1\x8C";   // 5 words
  TableLid lid({{ru, {"ru", 0.9, true}},
                {ru + " house", {"ru", 0.8, true}},
                {ru + " House", {"ru", 0.8, true}},
                {ru + " basil", {"ru", 0.8, true}},
                {"\xD0\xBE\xD0\xB4\xD0\xB8\xD0\xBD \xD0\xB4\xD0\xB2\xD0\xB0 1 2 3", {"ru", 0.3, false}},   // exactly 0.3
                {"\xD0\xBE\xD0\xB4\xD0\xB8\xD0\xBD \xD0\xB4\xD0\xB2\xD0\xB0 1 2 4", {"ru", 0.31, false}},
                {"this is an english house line", {"en", 0.99, true}}});
  EnglishWords words({"house", "basil", "line", "english", "this"});
  auto verdict = [&](const std::string& r, LcbOptions o = {}) { return lcb_judge(r, "ru", lid, words, o).verdict; };
  EXPECT_EQ(verdict("\xD0\xB4\xD0\xB0 \xD0\xBD\xD0\xB5\xD1\x82"), LcbVerdict::Skipped);   // 2 tokens
  EXPECT_EQ(verdict(""), LcbVerdict::Skipped);
  EXPECT_EQ(verdict(ru), LcbVerdict::Pass);
  EXPECT_EQ(verdict(ru + "."), LcbVerdict::Pass);   // the line is identified after normalisation
  EXPECT_EQ(verdict("\xD0\xBE\xD0\xB4\xD0\xB8\xD0\xBD \xD0\xB4\xD0\xB2\xD0\xB0 1 2 3"), LcbVerdict::LineError);   // 0.3: not above
  EXPECT_EQ(verdict("\xD0\xBE\xD0\xB4\xD0\xB8\xD0\xBD \xD0\xB4\xD0\xB2\xD0\xB0 1 2 4"), LcbVerdict::Pass);
  EXPECT_EQ(verdict(ru + " house,"), LcbVerdict::WordError);   // the comma goes before the look-up
  EXPECT_EQ(verdict(ru + " House"), LcbVerdict::Pass);         // compared exactly: capitalised is no word
  // An English word on a short (unjudged) line does not count.
  EXPECT_EQ(verdict(ru + "\nsee the house"), LcbVerdict::Pass);
  // A line error wins over a word error; an unknown line (not in the table) is an error.
  EXPECT_EQ(verdict(ru + "\nthis is an english house line"), LcbVerdict::LineError);
  EXPECT_EQ(verdict(ru + "\none two three four five"), LcbVerdict::LineError);
  LcbJudgement j = lcb_judge(ru + "\nthis is an english house line\n" + ru, "ru", lid, words);
  EXPECT_EQ(j.judged_lines, 3);
  EXPECT_EQ(j.wrong_lines, 1);
  // Names from the prompt, compared lower-cased, are exempt where asked for.
  LcbOptions exempt;
  exempt.exempt = {"Basil"};
  EXPECT_EQ(verdict(ru + " basil"), LcbVerdict::WordError);
  EXPECT_EQ(verdict(ru + " basil", exempt), LcbVerdict::Pass);
  LcbOptions four;
  four.min_tokens = 2;
  EXPECT_EQ(verdict("\xD0\xB4\xD0\xB0 \xD0\xBD\xD0\xB5\xD1\x82", four), LcbVerdict::LineError);   // judged now, unknown
}

TEST(LcbRates, ReferenceDenominators) {
  auto judgement = [](LcbVerdict v, int lines, int wrong) { return LcbJudgement{v, lines, wrong}; };
  std::vector<LcbJudgement> js = {judgement(LcbVerdict::Skipped, 0, 0), judgement(LcbVerdict::Pass, 2, 0),
                                  judgement(LcbVerdict::LineError, 4, 1), judgement(LcbVerdict::WordError, 1, 0),
                                  judgement(LcbVerdict::Pass, 1, 0)};
  LcbRates r = lcb_rates(js, true);
  EXPECT_EQ(r.judged, 4);
  EXPECT_DOUBLE_EQ(r.line_pass_rate, 1 - 1.0 / 4);
  EXPECT_DOUBLE_EQ(*r.word_pass_rate, 1 - 1.0 / 3);                  // judged minus line errors
  EXPECT_DOUBLE_EQ(r.line_accuracy, (1 + 0.75 + 1 + 1) / 4);
  EXPECT_FALSE(lcb_rates(js, false).word_pass_rate.has_value());
  // Nothing judged: the reference's max(1, ...) makes both rates 1.
  LcbRates none = lcb_rates({judgement(LcbVerdict::Skipped, 0, 0)}, true);
  EXPECT_EQ(none.judged, 0);
  EXPECT_DOUBLE_EQ(none.line_pass_rate, 1.0);
  EXPECT_DOUBLE_EQ(*none.word_pass_rate, 1.0);
  EXPECT_TRUE(lcb_word_level_language("ko"));
  EXPECT_FALSE(lcb_word_level_language("de"));
}

// --- fastText ---

// A supervised model on a few sentences per language (char n-grams so unseen
// words still vote), saved as .bin like lid.176.bin.
std::string train_tiny_fasttext(const std::string& dir) {
  const std::map<std::string, std::vector<std::string>> corpus = {
      {"en", {"the cat sits on the mat", "i would like a cup of tea", "where is the train station",
              "we are going to the park today", "this book is very interesting", "my brother lives in london"}},
      {"ru", {"\xD0\xBA\xD0\xBE\xD1\x88\xD0\xBA\xD0\xB0 \xD1\x81\xD0\xB8\xD0\xB4\xD0\xB8\xD1\x82 \xD0\xBD\xD0\xB0 "
              "\xD0\xBA\xD0\xBE\xD0\xB2\xD1\x80\xD0\xB8\xD0\xBA\xD0\xB5",                            // кошка сидит на коврике
              "\xD1\x8F \xD1\x85\xD0\xBE\xD1\x87\xD1\x83 \xD1\x87\xD0\xB0\xD1\x88\xD0\xBA\xD1\x83 \xD1\x87\xD0\xB0\xD1\x8F",   // я хочу чашку чая
              "\xD0\xB3\xD0\xB4\xD0\xB5 \xD0\xB2\xD0\xBE\xD0\xBA\xD0\xB7\xD0\xB0\xD0\xBB",        // где вокзал
              "\xD0\xBC\xD1\x8B \xD0\xB8\xD0\xB4\xD1\x91\xD0\xBC \xD0\xB2 \xD0\xBF\xD0\xB0\xD1\x80\xD0\xBA",   // мы идём в парк
              "\xD1\x8D\xD1\x82\xD0\xB0 \xD0\xBA\xD0\xBD\xD0\xB8\xD0\xB3\xD0\xB0 \xD0\xBE\xD1\x87\xD0\xB5\xD0\xBD\xD1\x8C "
              "\xD0\xB8\xD0\xBD\xD1\x82\xD0\xB5\xD1\x80\xD0\xB5\xD1\x81\xD0\xBD\xD0\xB0\xD1\x8F"}},   // эта книга очень интересная
      {"de", {"die katze sitzt auf der matte", "ich möchte eine tasse tee", "wo ist der bahnhof",
              "wir gehen heute in den park", "dieses buch ist sehr interessant", "mein bruder wohnt in berlin"}}};
  std::ofstream train(dir + "/train.txt");
  for (int repeat = 0; repeat < 20; ++repeat)
    for (const auto& [lang, sentences] : corpus)
      for (const auto& s : sentences) train << "__label__" << lang << " " << s << "\n";
  train.close();
  fasttext::Args a;
  a.input = dir + "/train.txt";
  a.model = fasttext::model_name::sup;
  a.loss = fasttext::loss_name::softmax;
  a.minCount = 1;
  a.minn = 2;
  a.maxn = 4;
  a.bucket = 20000;
  a.dim = 16;
  a.epoch = 25;
  a.lr = 0.5;
  a.thread = 1;
  a.verbose = 0;
  fasttext::FastText ft;
  ft.train(a);
  ft.saveModel(dir + "/tiny.bin");
  return dir + "/tiny.bin";
}

TEST(FastTextLid, TinyTrainedModelThroughTheInterface) {
  std::string dir = test::temp_dir("fasttext");
  std::string model = train_tiny_fasttext(dir);
  auto lid = make_language_identifier("fasttext", {}, model);
  EXPECT_EQ(lid->name(), "fasttext");
  LidResult en = lid->identify("the cat is in the park");
  EXPECT_EQ(en.lang, "en");
  EXPECT_GT(en.confidence, 0.5);
  EXPECT_LE(en.confidence, 1.0);
  EXPECT_EQ(lid->identify("\xD0\xBA\xD0\xBE\xD1\x88\xD0\xBA\xD0\xB0 \xD0\xB2 \xD0\xBF\xD0\xB0\xD1\x80\xD0\xBA\xD0\xB5").lang,
            "ru");   // кошка в парке
  EXPECT_EQ(lid->identify("die katze ist im park").lang, "de");
  // Restricted: the most probable allowed label.
  auto en_de = make_language_identifier("fasttext", {"en", "de"}, model);
  std::string label = en_de->identify("\xD0\xBA\xD0\xBE\xD1\x88\xD0\xBA\xD0\xB0 \xD0\xB2 \xD0\xBF\xD0\xB0\xD1\x80\xD0\xBA\xD0\xB5").lang;
  EXPECT_TRUE(label == "en" || label == "de") << label;
  EXPECT_EQ(en_de->identify("die katze ist im park").lang, "de");
}

// The LCB's line level through `qlab eval-responses` with a fastText model as
// lcb_identifier, as a researcher would pass lid.176.bin.
TEST(FastTextLid, EvalResponsesWithAFastTextLcbIdentifier) {
  std::string dir = test::temp_dir("fasttext_cli");
  std::string model = train_tiny_fasttext(dir);
  test::write_file(dir + "/words", "park\n");
  test::write_file(dir + "/out.csv",
                   "completion,source,language\n"
                   "\xD0\xBC\xD1\x8B \xD0\xB8\xD0\xB4\xD1\x91\xD0\xBC \xD0\xB2 \xD0\xBF\xD0\xB0\xD1\x80\xD0\xBA "
                   "\xD1\x81\xD0\xB5\xD0\xB3\xD0\xBE\xD0\xB4\xD0\xBD\xD1\x8F,okapi,ru\n"   // мы идём в парк сегодня
                   "we are going to the park today,okapi,ru\n"
                   "wir gehen heute in den park,okapi,de\n");
  auto r = test::run_qlab({"eval-responses", dir + "/out.csv", "--evaluator", "nmix", "--group-by", "language",
                           "lcb_identifier=fasttext", "fasttext_model=" + model, "english_words=" + dir + "/words"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, RunRecord> runs;
  for (auto& run : read_runs(dir + "/out.h5")) runs[run.axes.at("language")] = run;
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(std::get<std::vector<int64_t>>(runs.at("ru").output.arrays.at("nmix.line_pass")), (std::vector<int64_t>{1, 0}));
  EXPECT_DOUBLE_EQ(runs.at("ru").output.metrics.at("nmix.line_pass_rate"), 0.5);
  EXPECT_DOUBLE_EQ(runs.at("de").output.metrics.at("nmix.line_pass_rate"), 1.0);
  EXPECT_NE(runs.at("ru").config.find("lcb_identifier: \"fasttext\""), std::string::npos) << runs.at("ru").config;
}

TEST(FastTextLid, LabelsToCodes) {
  EXPECT_EQ(fasttext_label_code("__label__zh"), "zh");
  EXPECT_EQ(fasttext_label_code("__label__EN"), "en");
  EXPECT_EQ(fasttext_label_code("__label__iw"), "he");
  EXPECT_EQ(fasttext_label_code("__label__arz"), "");   // lid.176's Egyptian Arabic: no ISO 639-1 code
  EXPECT_EQ(fasttext_label_code("ru"), "ru");
}

TEST(FastTextLid, BadModelFiles) {
  std::string dir = test::temp_dir("fasttext_bad");
  test::write_file(dir + "/text.bin", "__label__en hello world\n");
  std::string version99("\xBA\x16\x4F\x2F\x63\x00\x00\x00", 8);   // the magic, then version 99
  test::write_file(dir + "/v99.bin", version99);
  auto message = [](const std::string& path) {
    try {
      make_language_identifier("fasttext", {}, path);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(dir + "/none.bin"), dir + "/none.bin: cannot read the fastText model");
  EXPECT_EQ(message(dir + "/text.bin"), dir + "/text.bin: not a fastText model (no fastText magic number at its start)");
  EXPECT_NE(message(dir + "/v99.bin").find("fastText file format version 99"), std::string::npos);
  EXPECT_NE(message("").find("`fasttext_model` names no file"), std::string::npos);
}

}  // namespace
}  // namespace qlab
