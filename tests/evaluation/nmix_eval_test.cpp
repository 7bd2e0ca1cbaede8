// The nmix evaluator: its scoring of given responses on real Tatoeba text
// (answers in the right and in the wrong language), and end to end through the
// plugin interface with metrics recomputed from the stored arrays.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "core/error.h"
#include "evaluation/nmix/language_scores.h"
#include "plugin_harness.h"

namespace qlab {
namespace {

using test::array;

std::vector<std::string> lines(const std::string& path, size_t n) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; out.size() < n && std::getline(f, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Three consecutive sentences from line 3k on: long enough for many windows.
std::string passage(const std::vector<std::string>& ls, size_t k) { return ls[3 * k] + " " + ls[3 * k + 1] + " " + ls[3 * k + 2]; }

TEST(NmixScores, TatoebaRightAndWrongLanguage) {
  QLAB_REQUIRE_SHARED_DATA();
  std::string t = test::shared_data() + "/tatoeba_laser/";
  auto fra = lines(t + "tatoeba.fra-eng.fra", 30), fra_en = lines(t + "tatoeba.fra-eng.eng", 30);
  auto rus = lines(t + "tatoeba.rus-eng.rus", 30), rus_en = lines(t + "tatoeba.rus-eng.eng", 30);
  std::vector<std::string> responses;
  std::vector<Example> ex;
  // fr prompts: 4 answers in French (reference = the answer), 4 in English
  // (reference = the French original). ru prompts: 3 in Russian, 3 in English.
  for (size_t k = 0; k < 4; ++k) responses.push_back(passage(fra, k)), ex.push_back({"", "q", passage(fra, k), "", "fr"});
  for (size_t k = 4; k < 8; ++k) responses.push_back(passage(fra_en, k)), ex.push_back({"", "q", passage(fra, k), "", "fr"});
  for (size_t k = 0; k < 3; ++k) responses.push_back(passage(rus, k)), ex.push_back({"", "q", "", "", "ru"});
  for (size_t k = 3; k < 6; ++k) responses.push_back(passage(rus_en, k)), ex.push_back({"", "q", "", "", "ru"});
  // Restricted to the languages in play, as a study of fr/ru prompts would set `languages`.
  auto lid = make_language_identifier("cld2", {"fr", "ru", "en"});
  const EnglishWords words({"know", "people", "have", "today", "with", "that", "what", "this"});
  LanguageScoreOptions o;
  LanguageScores s = score_languages(responses, ex, {*lid, *lid, words}, o);
  ASSERT_EQ(s.nmix.size(), 14u);

  for (size_t i = 0; i < 14; ++i) {
    // Per response exactly the building block's score (same options).
    NmixResult r = nmix_response(responses[i], ex[i].language, *lid, o.nmix);
    EXPECT_EQ(s.windows[i], r.windows);
    if (std::isnan(r.nmix)) EXPECT_TRUE(std::isnan(s.nmix[i]));
    else EXPECT_DOUBLE_EQ(s.nmix[i], r.nmix);
  }
  // Right language: little foreign; wrong language: mostly foreign.
  for (size_t i : {0, 1, 2, 3, 8, 9, 10}) EXPECT_LT(s.nmix[i], 0.35) << i << ": " << responses[i];
  for (size_t i : {4, 5, 6, 7, 11, 12, 13}) EXPECT_GT(s.nmix[i], 0.65) << i << ": " << responses[i];
  // Per-language means and the macro average, from the per-response scores.
  double fr = 0, ru = 0;
  for (size_t i = 0; i < 8; ++i) fr += s.nmix[i] / 8;
  for (size_t i = 8; i < 14; ++i) ru += s.nmix[i] / 6;
  EXPECT_NEAR(s.metrics["nmix.fr"], fr, 1e-12);
  EXPECT_NEAR(s.metrics["nmix.ru"], ru, 1e-12);
  EXPECT_NEAR(s.metrics["nmix"], (fr + ru) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(s.metrics["share_above_tau.fr"], 0.5);
  EXPECT_DOUBLE_EQ(s.metrics["share_above_tau.ru"], 0.5);
  EXPECT_EQ(s.metrics["n.fr"], 8);
  // Word level is defined for ru only: Cyrillic answers pass; English ones
  // already fail the line level, which leaves them out of the word level.
  EXPECT_EQ(s.word_pass, (std::vector<int64_t>{-1, -1, -1, -1, -1, -1, -1, -1, 1, 1, 1, -1, -1, -1}));
  EXPECT_DOUBLE_EQ(s.metrics["word_pass_rate"], 1.0);
  // ROUGE-L: 1 where the answer is its reference, low for the English answers.
  for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(s.rouge_l[i], 1.0);
  for (size_t i = 4; i < 8; ++i) EXPECT_LT(s.rouge_l[i], 0.3);
  for (size_t i = 8; i < 14; ++i) EXPECT_TRUE(std::isnan(s.rouge_l[i]));
  double rouge = 0;
  for (size_t i = 0; i < 8; ++i) rouge += s.rouge_l[i] / 8;
  EXPECT_NEAR(s.metrics["rouge_l"], rouge, 1e-12);
  double line = 0;   // every response is one judged line
  for (int64_t v : s.line_pass) line += v / 14.0;
  EXPECT_NEAR(s.metrics["line_pass_rate"], line, 1e-12);
  EXPECT_EQ(s.metrics["lcb_judged"], 14);
  EXPECT_EQ(s.line_pass[11], 0);   // an English line under a Russian prompt
}

// End to end with the random fixture model: shapes, canonical languages, and
// every metric equal to its recomputation from the arrays.
TEST(NmixEval, EndToEndMetricsFromArrays) {
  std::string dir = test::temp_dir("nmix");
  test::write_file(dir + "/p.jsonl", R"({"prompt": "Quel est ton nom ?", "language": "fr", "reference": "Je suis Tom."}
{"prompt": "Comment vas-tu ?", "language": "fr"}
{"prompt": "Как тебя зовут?", "language": "ru", "reference": "Меня зовут Том."}
{"prompt": "What is your name?", "language": "EN"}
)");
  test::PluginRun run("model: {path: " + test::llama2_fixture() + "}\n"
                      "datasets: {p: {jsonl_prompts: {path: " + dir + "/p.jsonl}}}\n"
                      "evaluators: [{nmix: {dataset: p, max_new_tokens: 16, batch_size: 3, n: 2, identifier: cld2}}]\n");
  RunOutput out = run.evaluate();
  const auto& langs = array<std::string>(out, "languages");
  EXPECT_EQ(langs, (std::vector<std::string>{"fr", "fr", "ru", "en"}));
  const auto& nmix = array<double>(out, "nmix");
  for (const char* key : {"prompts", "responses"}) EXPECT_EQ(array<std::string>(out, key).size(), 4u);
  for (const char* key : {"nmix", "entropy", "rouge_l"}) EXPECT_EQ(array<double>(out, key).size(), 4u);
  const auto& line = array<int64_t>(out, "line_pass");
  const auto& word = array<int64_t>(out, "word_pass");
  const auto& rouge = array<double>(out, "rouge_l");

  std::map<std::string, std::pair<double, double>> per;   // sum, count of defined scores
  for (size_t i = 0; i < 4; ++i)
    if (!std::isnan(nmix[i])) per[langs[i]].first += nmix[i], per[langs[i]].second += 1;
  double macro = 0, macro_n = 0;
  for (const char* l : {"fr", "ru", "en"}) {
    double m = per[l].second > 0 ? per[l].first / per[l].second : NAN;
    if (std::isnan(m)) {
      EXPECT_TRUE(std::isnan(out.metrics.at(std::string("nmix.") + l))) << l;
    } else {
      EXPECT_NEAR(out.metrics.at(std::string("nmix.") + l), m, 1e-12) << l;
      macro += m, macro_n += 1;
    }
  }
  if (macro_n > 0) EXPECT_NEAR(out.metrics["nmix"], macro / macro_n, 1e-12);
  // The LCB's denominators: skipped responses (-1) in none, max(1, ...).
  double judged = 0, line_errors = 0;
  for (int64_t v : line) judged += v != -1, line_errors += v == 0;
  EXPECT_NEAR(out.metrics["line_pass_rate"], 1 - line_errors / std::max(1.0, judged), 1e-12);
  EXPECT_EQ(out.metrics["lcb_judged"], judged);
  EXPECT_EQ(word[0], -1);
  EXPECT_EQ(word[3], -1);
  // ru alone has a word level; with its one response skipped or failing the line level it has nothing to fail.
  EXPECT_DOUBLE_EQ(out.metrics["word_pass_rate"], word[2] == -1 ? 1.0 : double(word[2]));
  EXPECT_TRUE(std::isnan(rouge[1]) && std::isnan(rouge[3]));
  EXPECT_NEAR(out.metrics["rouge_l"], (rouge[0] + rouge[2]) / 2, 1e-12);
  EXPECT_EQ(out.metrics["n"], 4);
}

// TOFU translated into Hebrew: the file's legacy "iw" suffix is read as "he".
TEST(NmixEval, TofuLanguageFromFileName) {
  QLAB_REQUIRE_SHARED_DATA();
  test::PluginRun run("model: {path: " + test::llama2_fixture() + "}\n"
                      "datasets: {t: {tofu_ml: {path: " + test::shared_data() + "/tofu_ml_forget01/forget01_iw.jsonl, limit: 2}}}\n"
                      "evaluators: [{nmix: {dataset: t, max_new_tokens: 8}}]\n");
  RunOutput out = run.evaluate();
  EXPECT_EQ(array<std::string>(out, "languages"), (std::vector<std::string>{"he", "he"}));
  EXPECT_TRUE(out.metrics.count("nmix.he"));
  EXPECT_TRUE(out.metrics.count("rouge_l"));   // TOFU has reference answers
}

TEST(NmixEval, BadInput) {
  std::string dir = test::temp_dir("nmix_bad");
  test::write_file(dir + "/xx.jsonl", R"({"prompt": "hello", "language": "xx"})" "\n");
  test::write_file(dir + "/none.jsonl", R"({"prompt": "hello"})" "\n");
  std::string base = "model: {path: " + test::llama2_fixture() + "}\n"
                     "datasets: {xx: {jsonl_prompts: {path: " + dir + "/xx.jsonl}}, none: {jsonl_prompts: {path: " +
                     dir + "/none.jsonl}}}\n";
  auto message = [&](const std::string& evaluator) -> std::string {
    try {
      test::PluginRun(base + "evaluators: [{nmix: {" + evaluator + ", max_new_tokens: 2}}]\n").evaluate();
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message("dataset: xx").find("unknown language code 'xx'"), std::string::npos) << message("dataset: xx");
  EXPECT_NE(message("dataset: none").find("has no language"), std::string::npos) << message("dataset: none");
  EXPECT_NE(message("dataset: none, language: klingon").find("'klingon'"), std::string::npos);
  EXPECT_EQ(message("dataset: none, language: de"), "no error");   // the override supplies it
  EXPECT_EQ(message("dataset: none, language: de, jieba_dict: " + dir + "/xx.jsonl"),
            dir + "/xx.jsonl:1: not a jieba dictionary (lines are \"WORD FREQ [TAG]\")");
}

}  // namespace
}  // namespace qlab
