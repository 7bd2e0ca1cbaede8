// The zh and ja word segmentation of the Language Confusion Benchmark
// (evaluation/common/jieba.h, mecab_segmenter.h, word_segmenter.h): tokens
// compared to the reference's, written by python3-jieba and the mecab command
// with UniDic and with IPAdic (tests/fixtures/segmentation/make_segmentation.sh);
// which MeCab dictionary is picked; python3-jieba run live on
// more text where installed; verdicts that depend on the segmentation; bad
// dictionaries.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>

#include "core/store.h"
#include "evaluation/common/jieba.h"
#include "evaluation/common/lcb.h"
#include "evaluation/common/mecab_segmenter.h"
#include "evaluation/common/text_norm.h"
#include "test_util.h"

namespace qlab {
namespace {

namespace fs = std::filesystem;

struct Reference {
  std::string line;
  std::vector<std::string> tokens;
};

std::vector<Reference> read_reference(const std::string& path) {
  std::vector<Reference> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    auto j = nlohmann::json::parse(line);
    out.push_back({j.at("line").get<std::string>(), j.at("tokens").get<std::vector<std::string>>()});
  }
  return out;
}

std::string segmentation_fixture(const std::string& name) { return test::fixtures() + "/segmentation/" + name; }

// python3-jieba's files, or "" (the test then skips).
std::string jieba_dir() {
  std::string dir = default_jieba_dir();
  return fs::exists(dir + "/dict.txt") && fs::exists(dir + "/finalseg/prob_emit.py") ? dir : "";
}

const JiebaSegmenter& jieba() {
  static const JiebaSegmenter j(jieba_dir() + "/dict.txt", jieba_dir() + "/finalseg");
  return j;
}

#define QLAB_REQUIRE_JIEBA() \
  if (jieba_dir().empty()) GTEST_SKIP() << "no python3-jieba files in " << default_jieba_dir() << " (apt-get install python3-jieba)"

#define QLAB_REQUIRE_MECAB()                                                                      \
  if (!mecab_built_in()) GTEST_SKIP() << "qlab built without MeCab (apt-get install libmecab-dev)"; \
  if (default_mecab_dict().empty())                                                                \
  GTEST_SKIP() << "no MeCab dictionary in " << mecab_dic_root() << " (apt-get install mecab-ipadic-utf8)"

// Debian's two dictionaries where installed, with the fixture of each.
std::map<std::string, std::string> installed_mecab_dicts() {
  std::map<std::string, std::string> out;
  for (const auto& [dicdir, fixture] : std::map<std::string, std::string>{
           {"/var/lib/mecab/dic/unidic", "ja_mecab_unidic.jsonl"},
           {"/var/lib/mecab/dic/ipadic-utf8", "ja_mecab_ipadic.jsonl"}})
    if (fs::exists(dicdir + "/sys.dic")) out[dicdir] = fixture;
  return out;
}

// Sets an environment variable for one scope, then puts back what was there
// (the segmenters read it on each call; "" counts as unset).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* before = std::getenv(name)) before_ = before;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { before_ ? setenv(name_, before_->c_str(), 1) : unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> before_;
};

void expect_tokens(const WordSegmenter& seg, const std::vector<Reference>& reference) {
  for (const auto& r : reference) EXPECT_EQ(seg.segment(r.line), r.tokens) << r.line;
}

TEST(JiebaSegmenter, FixtureLinesAsPythonJieba) {
  QLAB_REQUIRE_JIEBA();
  auto reference = read_reference(segmentation_fixture("zh_jieba.jsonl"));
  ASSERT_EQ(reference.size(), 30u);
  expect_tokens(jieba(), reference);
  EXPECT_GT(jieba().words(), 300000u);   // dict.txt of jieba 0.42.1: 349,046 entries
}

// The dictionary the segmenters pick against the mecab command's tokens with
// it, then the other of Debian's two where it is installed too.
TEST(MecabSegmenter, FixtureLinesAsTheMecabCommand) {
  QLAB_REQUIRE_MECAB();
  const std::string picked = default_mecab_dict();
  const std::map<std::string, std::string> fixture_of = {{"UniDic", "ja_mecab_unidic.jsonl"},
                                                         {"IPAdic", "ja_mecab_ipadic.jsonl"}};
  ASSERT_TRUE(fixture_of.count(mecab_dictionary_name(picked))) << picked << ": neither UniDic nor IPAdic";
  std::map<std::string, std::string> dicts = installed_mecab_dicts();
  dicts[picked] = fixture_of.at(mecab_dictionary_name(picked));
  for (const auto& [dicdir, fixture] : dicts) {
    SCOPED_TRACE(dicdir);
    auto reference = read_reference(segmentation_fixture(fixture));
    ASSERT_EQ(reference.size(), 30u);
    auto mecab = make_mecab_segmenter(dicdir);
    expect_tokens(*mecab, reference);
    const std::string name = fixture == "ja_mecab_unidic.jsonl" ? "UniDic" : "IPAdic";
    const std::string named =
        " (" + name + ", dictionary " + dicdir + (name == "UniDic" ? ")" : "; not the reference's UniDic)");
    EXPECT_EQ(mecab->describe().rfind("MeCab ", 0), 0u) << mecab->describe();
    EXPECT_EQ(mecab->describe().substr(mecab->describe().find(' ', 6)), named) << mecab->describe();
  }
}

// The two fixtures are told apart: IPAdic cuts 16 of the 30 lines otherwise
// (docs/evaluators.md), so a test that read the wrong one would fail.
TEST(MecabSegmenter, FixturesOfTheTwoDictionariesDiffer) {
  auto unidic = read_reference(segmentation_fixture("ja_mecab_unidic.jsonl"));
  auto ipadic = read_reference(segmentation_fixture("ja_mecab_ipadic.jsonl"));
  ASSERT_EQ(unidic.size(), ipadic.size());
  int differ = 0;
  for (size_t i = 0; i < unidic.size(); ++i) {
    ASSERT_EQ(unidic[i].line, ipadic[i].line);
    differ += unidic[i].tokens != ipadic[i].tokens;
  }
  EXPECT_EQ(differ, 16);
}

TEST(MecabSegmenter, DictionaryNameFromItsDicrc) {
  const std::string dir = test::temp_dir("mecab_names");
  for (const auto& [sub, dicrc] : std::map<std::string, std::string>{
           {"ipa", ";\n; Configuration file of IPADIC\n;\ncost-factor = 800\n"},
           {"uni", "cost-factor = 700\noutput-format-type = unidic22\n"},
           {"juman", "cost-factor = 800\neval-size = 4\n"}}) {
    fs::create_directories(dir + "/" + sub);
    test::write_file(dir + "/" + sub + "/dicrc", dicrc);
  }
  EXPECT_EQ(mecab_dictionary_name(dir + "/ipa"), "IPAdic");
  EXPECT_EQ(mecab_dictionary_name(dir + "/uni"), "UniDic");
  EXPECT_EQ(mecab_dictionary_name(dir + "/juman"), "");
  EXPECT_EQ(mecab_dictionary_name(dir + "/none"), "");
  // Debian's own files, where installed.
  for (const auto& [dicdir, name] : std::map<std::string, std::string>{{"/var/lib/mecab/dic/unidic", "UniDic"},
                                                                       {"/var/lib/mecab/dic/ipadic-utf8", "IPAdic"},
                                                                       {"/var/lib/mecab/dic/juman-utf8", ""}})
    if (fs::exists(dicdir + "/dicrc")) EXPECT_EQ(mecab_dictionary_name(dicdir), name) << dicdir;
}

// UniDic before IPAdic before none, under $QLAB_MECAB_DIC_ROOT; $QLAB_MECAB_DICT
// before all of them. Only the files' presence counts here.
TEST(MecabSegmenter, DictionarySearchOrder) {
  const std::string root = test::temp_dir("mecab_order");
  for (const char* sub : {"unidic", "ipadic-utf8", "juman-utf8"}) {
    fs::create_directories(root + "/" + sub);
    test::write_file(root + "/" + sub + "/sys.dic", "");
  }
  fs::create_directories(root + "/no_sys_dic/unidic");
  ScopedEnv unnamed("QLAB_MECAB_DICT", "");
  ScopedEnv env("QLAB_MECAB_DIC_ROOT", root);
  EXPECT_EQ(default_mecab_dict(), root + "/unidic");
  {
    ScopedEnv named("QLAB_MECAB_DICT", root + "/juman-utf8");
    EXPECT_EQ(default_mecab_dict(), root + "/juman-utf8");
  }
  fs::remove_all(root + "/unidic");
  EXPECT_EQ(default_mecab_dict(), root + "/ipadic-utf8");
  fs::remove_all(root + "/ipadic-utf8");
  EXPECT_EQ(default_mecab_dict(), "");   // juman-utf8 is never picked unless named
  ScopedEnv empty("QLAB_MECAB_DIC_ROOT", root + "/no_sys_dic");
  EXPECT_EQ(default_mecab_dict(), "");
}

// The same order through load_zh_ja_segmenters with Debian's real dictionaries
// linked into a root: what it records and what it warns of.
TEST(MecabSegmenter, SegmentersTakeUniDicThenIPAdicThenTheStandIn) {
  if (!mecab_built_in()) GTEST_SKIP() << "qlab built without MeCab (apt-get install libmecab-dev)";
  const std::string root = test::temp_dir("mecab_load");
  for (const auto& [dicdir, fixture] : installed_mecab_dicts())
    fs::create_directory_symlink(dicdir, root + "/" + fs::path(dicdir).filename().string());
  ScopedEnv unnamed("QLAB_MECAB_DICT", "");
  ScopedEnv env("QLAB_MECAB_DIC_ROOT", root);
  ScopedEnv no_jieba("QLAB_JIEBA_DIR", root + "/no_jieba");   // zh is not looked at here: no need to load jieba
  auto ja_warnings = [](const ZhJaSegmenters& s) {
    std::vector<std::string> out;
    for (const auto& w : s.warnings())
      if (w.rfind("LCB ja", 0) == 0) out.push_back(w);
    return out;
  };
  if (fs::exists(root + "/unidic")) {
    ZhJaSegmenters s = load_zh_ja_segmenters("");
    ASSERT_TRUE(s.ja);
    EXPECT_EQ(s.ja_dictionary, "UniDic");
    EXPECT_NE(s.describe().at(1).find(" (UniDic, dictionary " + root + "/unidic)"), std::string::npos)
        << s.describe().at(1);
    EXPECT_EQ(ja_warnings(s), std::vector<std::string>{});
    fs::remove(root + "/unidic");
  }
  if (fs::exists(root + "/ipadic-utf8")) {
    ZhJaSegmenters s = load_zh_ja_segmenters("");
    ASSERT_TRUE(s.ja);
    EXPECT_EQ(s.ja_dictionary, "IPAdic");
    EXPECT_NE(s.describe().at(1).find(" (IPAdic, dictionary " + root + "/ipadic-utf8; not the reference's UniDic)"),
              std::string::npos)
        << s.describe().at(1);
    ASSERT_EQ(ja_warnings(s).size(), 1u);
    EXPECT_EQ(ja_warnings(s)[0].rfind("LCB ja lines are segmented by MeCab with IPAdic, not the reference's UniDic", 0),
              0u)
        << ja_warnings(s)[0];
    fs::remove(root + "/ipadic-utf8");
  }
  ZhJaSegmenters s = load_zh_ja_segmenters("");
  EXPECT_FALSE(s.ja);
  const std::string why = "no MeCab dictionary in " + root + "/unidic or " + root +
                          "/ipadic-utf8; Debian: apt-get install unidic-mecab (the reference's UniDic, 1 GB) or "
                          "mecab-ipadic-utf8";
  EXPECT_EQ(s.describe().at(1), "ja: stand-in (" + why + ")");
  EXPECT_EQ(ja_warnings(s), std::vector<std::string>{"LCB ja lines get the stand-in segmentation (" + why + ")"});
}

// Tatoeba's Mandarin sentences and random strings of Han, Latin, digits,
// punctuation and spaces (which reach the HMM and the non-Han rules far more
// often than real text), segmented by python3-jieba in a child process.
TEST(JiebaSegmenter, AsPythonJiebaLiveOnMoreText) {
  QLAB_REQUIRE_JIEBA();
  if (test::run_shell("/usr/bin/python3 -c 'import jieba' 2>/dev/null").exit_code != 0)
    GTEST_SKIP() << "python3-jieba cannot be imported by /usr/bin/python3 (apt-get install python3-jieba)";
  std::vector<std::string> lines;
  if (!test::shared_data().empty()) {
    std::ifstream f(test::shared_data() + "/tatoeba_laser/tatoeba.cmn-eng.cmn");
    for (std::string l; std::getline(f, l);) lines.push_back(l);
  }
  const std::u32string pool =
      U"的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么"
      U"心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分"
      U"将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重"
      U"abcxyzABCQ0123456789+#&._%-,，。！？、 \t\u3000";
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::u32string s;
    for (int n = 1 + int(rng() % 30); n > 0; --n) s += pool[rng() % pool.size()];
    lines.push_back(text::encode_utf8(s));
  }
  const std::string dir = test::temp_dir("jieba_live");
  {
    std::ofstream in(dir + "/in.jsonl");
    for (const auto& l : lines) in << nlohmann::json(l).dump() << "\n";
  }
  test::write_file(dir + "/cut.py",
                   "import json, sys, jieba\n"
                   "jieba.setLogLevel(60)\n"
                   "with open(sys.argv[2], 'w') as out:\n"
                   "    for l in open(sys.argv[1]):\n"
                   "        out.write(json.dumps(jieba.lcut(json.loads(l))) + '\\n')\n");
  auto r = test::run_shell("/usr/bin/python3 " + dir + "/cut.py " + dir + "/in.jsonl " + dir + "/out.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream out(dir + "/out.jsonl");
  size_t compared = 0;
  for (std::string l; std::getline(out, l); ++compared) {
    ASSERT_LT(compared, lines.size());
    EXPECT_EQ(jieba().segment(lines[compared]), nlohmann::json::parse(l).get<std::vector<std::string>>())
        << lines[compared];
  }
  EXPECT_EQ(compared, lines.size());
}

TEST(JiebaSegmenter, BadFiles) {
  const std::string dir = test::temp_dir("jieba_bad");
  test::write_file(dir + "/words", "apple\nbanana\n");
  test::write_file(dir + "/bad_freq", "\xE4\xBD\xA0\xE5\xA5\xBD 12 n\n\xE4\xB8\x96\xE7\x95\x8C lots n\n");
  test::write_file(dir + "/empty", "");
  test::write_file(dir + "/dict.txt", "\xE4\xBD\xA0\xE5\xA5\xBD 12 n\n");
  fs::create_directories(dir + "/hmm");
  test::write_file(dir + "/hmm/prob_start.py", "P={'B': -0.26, 'E': -3.14e+100, 'M': -3.14e+100}\n");   // no S
  auto error = [](auto f) { return test::usage_error_of(f); };
  EXPECT_EQ(error([&] { JiebaSegmenter(dir + "/none.txt", dir + "/hmm"); }),
            dir + "/none.txt: cannot read the jieba dictionary (Debian: apt-get install python3-jieba)");
  EXPECT_EQ(error([&] { JiebaSegmenter::check_dictionary(dir + "/words"); }),
            dir + "/words:1: not a jieba dictionary (lines are \"WORD FREQ [TAG]\")");
  EXPECT_EQ(error([&] { JiebaSegmenter(dir + "/bad_freq", dir + "/hmm"); }),
            dir + "/bad_freq:2: not a jieba dictionary (lines are \"WORD FREQ [TAG]\")");
  EXPECT_EQ(error([&] { JiebaSegmenter(dir + "/empty", dir + "/hmm"); }), dir + "/empty: not a jieba dictionary (no entries)");
  EXPECT_EQ(error([&] { JiebaSegmenter(dir + "/dict.txt", dir + "/hmm"); }),
            dir + "/hmm/prob_start.py: not one of jieba's HMM tables (no state S)");
  test::write_file(dir + "/hmm/prob_start.py", "P={'B': -0.26, 'E': oops}\n");
  EXPECT_EQ(error([&] { JiebaSegmenter(dir + "/dict.txt", dir + "/hmm"); }),
            dir + "/hmm/prob_start.py: not one of jieba's HMM tables (neither a dict nor a number at byte 20)");
  EXPECT_NO_THROW(JiebaSegmenter::check_dictionary(dir + "/dict.txt"));
}

// Labels every line zh with confidence 0.9: the verdicts below differ only by the tokens.
class AllChinese : public LanguageIdentifier {
 public:
  LidResult identify(std::string_view) const override { return {"zh", 0.9, true}; }
  std::string name() const override { return "all-zh"; }
};

// 我们明天见: 5 characters, 3 jieba words (我们 / 明天 / 见).
const std::string kFiveCharsThreeWords = "\xE6\x88\x91\xE4\xBB\xAC\xE6\x98\x8E\xE5\xA4\xA9\xE8\xA7\x81";

TEST(LcbSegmentation, ShortZhLineIsJudgedOnlyByTheStandIn) {
  QLAB_REQUIRE_JIEBA();
  ASSERT_EQ(jieba().segment(kFiveCharsThreeWords).size(), 3u);
  ZhJaSegmenters segmenters = load_zh_ja_segmenters("");
  ASSERT_TRUE(segmenters.zh);
  EnglishWords words({"house"});
  AllChinese lid;
  LcbOptions with_jieba;
  with_jieba.segmenters = &segmenters;
  EXPECT_EQ(lcb_judge(kFiveCharsThreeWords, "zh", lid, words, with_jieba).verdict, LcbVerdict::Skipped);
  EXPECT_EQ(lcb_judge(kFiveCharsThreeWords, "zh", lid, words).verdict, LcbVerdict::Pass);   // stand-in: 5 tokens
  // jieba counts the spaces: 我 爱 你 is 5 tokens and judged, as in the reference.
  EXPECT_EQ(lcb_judge("\xE6\x88\x91 \xE7\x88\xB1 \xE4\xBD\xA0", "zh", lid, words, with_jieba).verdict, LcbVerdict::Pass);
  // A word error through jieba's tokens: "house" is one of them.
  EXPECT_EQ(lcb_judge(kFiveCharsThreeWords + "house" + kFiveCharsThreeWords, "zh", lid, words, with_jieba).verdict,
            LcbVerdict::WordError);
}

TEST(LcbSegmentation, JapaneseLineCountsMecabTokens) {
  QLAB_REQUIRE_MECAB();
  ZhJaSegmenters segmenters = load_zh_ja_segmenters("");
  ASSERT_TRUE(segmenters.ja);
  // 東京に行く: 5 characters, MeCab with UniDic or IPAdic: 東京 / に / 行く.
  const std::string line = "\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x81\xAB\xE8\xA1\x8C\xE3\x81\x8F";
  EXPECT_EQ(lcb_tokens(line, "ja", segmenters.ja.get()).size(), 3u);
  EXPECT_EQ(lcb_tokens(line, "ja").size(), 5u);
  EXPECT_EQ(lcb_tokens(line, "ko", segmenters.ja.get()).size(), 1u);   // other languages: whitespace only
}

// `qlab eval-responses`: the verdict of the short zh line with python3-jieba,
// with the stand-in where no jieba files are found (and the run saying so), and
// a bad `jieba_dict`.
TEST(LcbSegmentation, EvalResponsesRecordsTheSegmenters) {
  QLAB_REQUIRE_JIEBA();
  const std::string dir = test::temp_dir("lcb_seg_cli");
  test::write_file(dir + "/words", "house\n");
  test::write_file(dir + "/out.csv", "completion,language\n" + kFiveCharsThreeWords + ",zh\n");
  const std::vector<std::string> args = {"eval-responses", dir + "/out.csv", "--evaluator", "nmix",
                                         "lcb_identifier=script", "english_words=" + dir + "/words"};
  auto run = [&](const std::string& env, std::vector<std::string> extra = {}) {
    std::string cmd = env + " " + test::qlab_bin();
    for (const auto& a : args) cmd += " '" + a + "'";
    for (const auto& a : extra) cmd += " '" + a + "'";
    fs::remove(dir + "/out.h5");
    return test::run_shell(cmd);
  };
  auto segmenters = [&] {
    auto runs = read_runs(dir + "/out.h5");
    return std::get<std::vector<std::string>>(runs.at(0).output.arrays.at("nmix.lcb_segmenters"));
  };
  auto r = run("");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = read_runs(dir + "/out.h5");
  EXPECT_EQ(std::get<std::vector<int64_t>>(runs.at(0).output.arrays.at("nmix.line_pass")), std::vector<int64_t>{-1});
  EXPECT_DOUBLE_EQ(runs.at(0).output.metrics.at("nmix.lcb_judged"), 0);
  EXPECT_EQ(segmenters().at(0), "zh: " + jieba().describe());

  r = run("QLAB_JIEBA_DIR=" + dir + "/no_jieba QLAB_MECAB_DICT=" + dir + "/no_unidic");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  runs = read_runs(dir + "/out.h5");
  EXPECT_EQ(std::get<std::vector<int64_t>>(runs.at(0).output.arrays.at("nmix.line_pass")), std::vector<int64_t>{1});
  EXPECT_EQ(segmenters().at(0), "zh: stand-in (no jieba dictionary at " + dir +
                                    "/no_jieba/dict.txt; Debian: apt-get install python3-jieba)");
  EXPECT_EQ(segmenters().at(1).rfind("ja: stand-in (", 0), 0u) << segmenters().at(1);
  EXPECT_NE(r.err.find("LCB zh lines get the stand-in segmentation"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("LCB ja lines get the stand-in segmentation"), std::string::npos) << r.err;

  // IPAdic alone: used, named, and the log says it is not the reference's dictionary.
  if (mecab_built_in() && fs::exists("/var/lib/mecab/dic/ipadic-utf8/sys.dic")) {
    fs::create_directories(dir + "/dics");
    fs::create_directory_symlink("/var/lib/mecab/dic/ipadic-utf8", dir + "/dics/ipadic-utf8");
    r = run("QLAB_MECAB_DIC_ROOT=" + dir + "/dics");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(segmenters().at(1).find("(IPAdic, dictionary " + dir + "/dics/ipadic-utf8; not the reference's UniDic)"),
              std::string::npos)
        << segmenters().at(1);
    EXPECT_NE(r.err.find("LCB ja lines are segmented by MeCab with IPAdic, not the reference's UniDic"),
              std::string::npos)
        << r.err;
  }

  // A named dictionary is used as such (one word: 我们明天见 is then one token).
  test::write_file(dir + "/one_word.txt", kFiveCharsThreeWords + " 100 n\n");
  r = run("", {"jieba_dict=" + dir + "/one_word.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(segmenters().at(0).find(dir + "/one_word.txt"), std::string::npos) << segmenters().at(0);

  for (const auto& [file, message] : std::map<std::string, std::string>{
           {dir + "/none.txt", ": cannot read the jieba dictionary"},
           {dir + "/words", ":1: not a jieba dictionary (lines are \"WORD FREQ [TAG]\")"}}) {
    r = run("", {"jieba_dict=" + file});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(file + message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/out.h5"));
  }
}

}  // namespace
}  // namespace qlab
