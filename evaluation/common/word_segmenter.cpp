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

std::string mecab_dic_root() { return env_or("QLAB_MECAB_DIC_ROOT", "/var/lib/mecab/dic"); }

namespace {
// The folders default_mecab_dict searches, the reference's dictionary first.
std::vector<std::string> mecab_dict_candidates() {
  return {mecab_dic_root() + "/unidic", mecab_dic_root() + "/ipadic-utf8"};
}
}  // namespace

std::string default_mecab_dict() {
  if (const std::string named = env_or("QLAB_MECAB_DICT", ""); !named.empty()) return named;
  for (const auto& dicdir : mecab_dict_candidates())
    if (fs::exists(dicdir + "/sys.dic")) return dicdir;
  return "";
}

const WordSegmenter* ZhJaSegmenters::for_language(const std::string& language) const {
  return language == "zh" ? zh.get() : language == "ja" ? ja.get() : nullptr;
}

std::vector<std::string> ZhJaSegmenters::describe() const {
  return {"zh: " + (zh ? zh->describe() : "stand-in (" + zh_fallback + ")"),
          "ja: " + (ja ? ja->describe() : "stand-in (" + ja_fallback + ")")};
}

std::vector<std::string> ZhJaSegmenters::warnings() const {
  std::vector<std::string> out;
  if (!zh) out.push_back("LCB zh lines get the stand-in segmentation (" + zh_fallback + ")");
  if (!ja) out.push_back("LCB ja lines get the stand-in segmentation (" + ja_fallback + ")");
  if (ja && ja_dictionary != "UniDic")
    out.push_back("LCB ja lines are segmented by MeCab with " +
                  (ja_dictionary.empty() ? std::string("a dictionary that is not UniDic") : ja_dictionary) +
                  ", not the reference's UniDic: their token counts, so which lines are judged, differ from the "
                  "reference's (QLAB_WITH_UNIDIC=1 tools/install_deps.sh installs UniDic)");
  return out;
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
  if (!mecab_built_in()) {
    s.ja_fallback = "qlab built without MeCab; Debian: apt-get install libmecab-dev, then rebuild";
  } else if (dicdir.empty()) {
    const auto candidates = mecab_dict_candidates();
    s.ja_fallback = "no MeCab dictionary in " + candidates[0] + " or " + candidates[1] +
                    "; Debian: apt-get install unidic-mecab (the reference's UniDic, 1 GB) or mecab-ipadic-utf8";
  } else if (!fs::exists(dicdir + "/sys.dic")) {
    s.ja_fallback = "no MeCab dictionary at " + dicdir + ", named by $QLAB_MECAB_DICT";
  } else {
    s.ja = make_mecab_segmenter(dicdir);
    s.ja_dictionary = mecab_dictionary_name(dicdir);
  }
  return s;
}

void check_zh_ja_segmenters(const std::string& jieba_dict) {
  if (!jieba_dict.empty()) JiebaSegmenter::check_dictionary(jieba_dict);
}

}  // namespace qlab
