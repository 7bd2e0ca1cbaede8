#include "evaluation/common/word_segmenter.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "evaluation/common/jieba.h"
#include "evaluation/common/mecab_segmenter.h"

namespace qlab {

namespace fs = std::filesystem;

namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

std::string default_jieba_dir() { return env_or("QLAB_JIEBA_DIR", "/usr/lib/python3/dist-packages/jieba"); }

std::string default_mecab_dict() { return env_or("QLAB_MECAB_DICT", "/var/lib/mecab/dic/unidic"); }

const WordSegmenter* ZhJaSegmenters::for_language(const std::string& language) const {
  return language == "zh" ? zh.get() : language == "ja" ? ja.get() : nullptr;
}

std::vector<std::string> ZhJaSegmenters::describe() const {
  return {"zh: " + (zh ? zh->describe() : "stand-in (" + zh_fallback + ")"),
          "ja: " + (ja ? ja->describe() : "stand-in (" + ja_fallback + ")")};
}

ZhJaSegmenters load_zh_ja_segmenters(const std::string& jieba_dict) {
  ZhJaSegmenters s;
  // jieba's HMM tables come with its package, whichever dictionary is used (as jieba.set_dictionary).
  const std::string dir = default_jieba_dir();
  const std::string dict = jieba_dict.empty() ? dir + "/dict.txt" : jieba_dict;
  if (!jieba_dict.empty() || fs::exists(dict))
    s.zh = std::make_unique<JiebaSegmenter>(dict, dir + "/finalseg");
  else
    s.zh_fallback = "no jieba dictionary at " + dict + "; Debian: apt-get install python3-jieba";

  const std::string dicdir = default_mecab_dict();
  if (!mecab_built_in())
    s.ja_fallback = "qlab built without MeCab; Debian: apt-get install libmecab-dev, then rebuild";
  else if (!fs::exists(dicdir + "/sys.dic"))
    s.ja_fallback = "no MeCab dictionary at " + dicdir + "; Debian: apt-get install unidic-mecab";
  else
    s.ja = make_mecab_segmenter(dicdir);
  return s;
}

void check_zh_ja_segmenters(const std::string& jieba_dict) {
  if (!jieba_dict.empty()) JiebaSegmenter::check_dictionary(jieba_dict);
}

}  // namespace qlab
