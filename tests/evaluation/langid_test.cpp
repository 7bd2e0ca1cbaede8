// Language identification: backends on hand-picked text, and accuracy on the
// Tatoeba sentences (9 languages + English), which docs/langid.md reports.
// Set QLAB_LANGID_TABLE=FILE to write the measured table as markdown.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "datasets/readers.h"
#include "evaluation/common/langid.h"
#include "evaluation/common/text_norm.h"
#include "test_util.h"

namespace qlab {
namespace {

const std::vector<std::string> kTatoeba = {"ara", "cmn", "deu", "fra", "hin", "jpn", "kor", "rus", "spa"};
const std::vector<std::string> kIso = {"ar", "zh", "de", "fr", "hi", "ja", "ko", "ru", "es"};
const std::vector<std::string> kTen = {"en", "ar", "zh", "de", "fr", "hi", "ja", "ko", "ru", "es"};

TEST(LanguageCodes, CanonicalIso639_1) {
  EXPECT_EQ(canonical_language_code("en"), "en");
  EXPECT_EQ(canonical_language_code("ZH"), "zh");
  EXPECT_EQ(canonical_language_code("zh-Hant"), "zh");
  EXPECT_EQ(canonical_language_code("iw"), "he");
  EXPECT_EQ(canonical_language_code("he"), "he");
  EXPECT_EQ(canonical_language_code("fa"), "fa");
  EXPECT_EQ(canonical_language_code("un"), "");    // CLD2's "unknown"
  EXPECT_EQ(canonical_language_code("eng"), "");   // ISO 639-2 is not accepted
  EXPECT_EQ(canonical_language_code("xx"), "");
  EXPECT_THROW(make_language_identifier("cld2", {"en", "qq"}), UsageError);
  EXPECT_THROW(make_language_identifier("fasttext"), UsageError);
}

TEST(LanguageId, ScriptBackend) {
  auto lid = make_language_identifier("script");
  EXPECT_EQ(lid->identify("مرحبا بالعالم").lang, "ar");
  EXPECT_EQ(lid->identify("नमस्ते दुनिया").lang, "hi");
  EXPECT_EQ(lid->identify("안녕하세요 세계").lang, "ko");
  EXPECT_EQ(lid->identify("我喜欢学习语言。").lang, "zh");
  EXPECT_EQ(lid->identify("私は日本語を勉強します。").lang, "ja");   // Han with kana
  EXPECT_EQ(lid->identify("Привет, мир").lang, "ru");
  EXPECT_EQ(lid->identify("שלום עולם").lang, "he");
  EXPECT_EQ(lid->identify("สวัสดีครับ").lang, "th");
  EXPECT_EQ(lid->identify("Hello world").lang, "latin");
  EXPECT_EQ(lid->identify("123 !?").lang, "");
  LidResult mixed = lid->identify("Привет hello");   // 6 Cyrillic vs 5 Latin letters
  EXPECT_EQ(mixed.lang, "ru");
  EXPECT_NEAR(mixed.confidence, 6.0 / 11.0, 1e-12);
  EXPECT_FALSE(mixed.reliable);
  EXPECT_EQ(make_language_identifier("script", {"en", "zh"})->identify("Hello world").lang, "en");
  EXPECT_EQ(make_language_identifier("script", {"en", "fr"})->identify("Hello world").lang, "latin");
  EXPECT_EQ(make_language_identifier("script", {"en", "fa"})->identify("سلام دنیا").lang, "fa");
  EXPECT_EQ(make_language_identifier("script", {"en", "zh"})->identify("Привет").lang, "");
}

TEST(LanguageId, Cld2AndTextcatOnSentences) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"en", "The weather is very nice today and we are going to the park."},
      {"de", "Das Wetter ist heute sehr schön und wir gehen in den Park."},
      {"fr", "Il fait très beau aujourd'hui et nous allons au parc."},
      {"es", "Hoy hace muy buen tiempo y vamos al parque."},
      {"ru", "Сегодня очень хорошая погода, и мы идём в парк."},
      {"zh", "今天天气很好，我们要去公园。"},
      {"ja", "今日はとても良い天気なので、公園に行きます。"}};
  auto cld2 = make_language_identifier("cld2");
  auto tc = make_language_identifier("exttextcat", kTen);
  for (const auto& [lang, s] : cases) {
    EXPECT_EQ(cld2->identify(s).lang, lang) << s;
    EXPECT_EQ(tc->identify(s).lang, lang) << s;
  }
  // Restriction: French text with French not allowed gets another allowed label or none.
  auto de_en = make_language_identifier("cld2", {"de", "en"});
  std::string l = de_en->identify(cases[2].second).lang;
  EXPECT_TRUE(l == "" || l == "de" || l == "en") << l;
  auto tc_de_en = make_language_identifier("exttextcat", {"de", "en"});
  l = tc_de_en->identify(cases[2].second).lang;
  EXPECT_TRUE(l == "" || l == "de" || l == "en") << l;
  EXPECT_EQ(cld2->identify("").lang, "");
}

// --- Tatoeba accuracy -------------------------------------------------------

struct Corpus {
  std::string lang;
  std::vector<std::string> sentences;
};

std::vector<Corpus> tatoeba() {
  std::string dir = test::shared_data() + "/tatoeba_laser/tatoeba.";
  std::vector<Corpus> out;
  Corpus en{"en", {}};
  for (size_t i = 0; i < kTatoeba.size(); ++i) {
    std::string base = dir + kTatoeba[i] + "-eng.";
    Dataset d = read_parallel_text(base + kTatoeba[i], base + "eng", kIso[i], "en");
    Corpus c{kIso[i], {}};
    for (const auto& e : d.examples) {
      c.sentences.push_back(e.prompt);
      en.sentences.push_back(e.reference);
    }
    out.push_back(std::move(c));
  }
  out.insert(out.begin(), std::move(en));
  return out;
}

// Non-overlapping windows of n units over the sentences joined by spaces
// (words; characters for zh/ja, with n_chars units).
std::vector<std::string> windows(const Corpus& c, int n_words, int n_chars) {
  std::string all;
  for (const auto& s : c.sentences) all += s + " ";
  text::Units u = text::default_units(c.lang);
  size_t n = u == text::Units::Words ? n_words : n_chars;
  auto spans = text::unit_spans(all, u);
  std::vector<std::string> out;
  for (size_t i = 0; i + n <= spans.size(); i += n)
    out.push_back(all.substr(spans[i].begin, spans[i + n - 1].end - spans[i].begin));
  return out;
}

double accuracy(const LanguageIdentifier& lid, const std::vector<std::string>& texts, const std::string& lang) {
  int right = 0;
  for (const auto& t : texts) right += lid.identify(t).lang == lang;
  return static_cast<double>(right) / texts.size();
}

TEST(LanguageIdAccuracy, TatoebaPerLanguageAndBackend) {
  QLAB_REQUIRE_SHARED_DATA();
  std::vector<Corpus> corpora = tatoeba();
  ASSERT_EQ(corpora.size(), 10u);
  ASSERT_EQ(corpora[0].sentences.size(), 9000u);

  struct Backend {
    std::string label;
    std::unique_ptr<LanguageIdentifier> lid;
  };
  std::vector<Backend> backends;
  backends.push_back({"cld2", make_language_identifier("cld2")});
  backends.push_back({"exttextcat (10 languages)", make_language_identifier("exttextcat", kTen)});
  backends.push_back({"script (10 languages)", make_language_identifier("script", kTen)});

  // acc[backend][lang] = {sentence, window n=3, window n=5}
  std::map<std::string, std::map<std::string, std::array<double, 3>>> acc;
  for (const auto& b : backends)
    for (const auto& c : corpora)
      acc[b.label][c.lang] = {accuracy(*b.lid, c.sentences, c.lang), accuracy(*b.lid, windows(c, 3, 10), c.lang),
                              accuracy(*b.lid, windows(c, 5, 15), c.lang)};

  std::ostringstream md;
  md << std::fixed << std::setprecision(3);
  md << "| backend | level |";
  for (const auto& c : corpora) md << " " << c.lang << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < corpora.size(); ++i) md << "---|";
  md << "\n";
  const char* levels[] = {"sentence", "window n=3 (zh/ja 10 chars)", "window n=5 (zh/ja 15 chars)"};
  for (const auto& b : backends)
    for (int lv = 0; lv < 3; ++lv) {
      md << "| " << b.label << " | " << levels[lv] << " |";
      for (const auto& c : corpora) md << " " << acc[b.label][c.lang][lv] << " |";
      md << "\n";
    }
  std::cout << md.str();
  if (const char* out = std::getenv("QLAB_LANGID_TABLE")) std::ofstream(out) << md.str();

  // Floors. Script-distinct languages are easy for every backend at sentence
  // level; Latin-script languages need the n-gram models and longer text.
  for (const char* lang : {"ar", "hi", "ja", "ko", "ru", "zh"}) {
    EXPECT_GE(acc["cld2"][lang][0], 0.8) << lang;
    EXPECT_GE(acc["exttextcat (10 languages)"][lang][0], 0.8) << lang;
    EXPECT_GE(acc["script (10 languages)"][lang][0], 0.9) << lang;
  }
  for (const char* lang : {"en", "de", "fr", "es"}) {
    EXPECT_GE(acc["cld2"][lang][0], 0.7) << lang;
    EXPECT_GE(acc["cld2"][lang][2], 0.6) << lang;
    EXPECT_EQ(acc["script (10 languages)"][lang][0], 0.0) << lang;   // "latin", never a language
  }
}

}  // namespace
}  // namespace qlab
