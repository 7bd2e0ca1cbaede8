// Word segmenters for languages written without spaces, as the Language
// Confusion Benchmark's reference script uses them (evaluation/common/lcb.h):
// Chinese with jieba's algorithm (evaluation/common/jieba.h), Japanese with
// MeCab (evaluation/common/mecab_segmenter.h). Each is optional: where its
// library or dictionary is missing, the language keeps the stand-in of
// lcb_tokens, and `describe` says which one a run used, so that a number made
// with the stand-in is never mistaken for the reference's.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qlab {

class WordSegmenter {
 public:
  virtual ~WordSegmenter() = default;
  // The tokens of one line, in order, as the reference's segmenter gives them.
  virtual std::vector<std::string> segment(std::string_view line) const = 0;
  // What it is and which files it read: "jieba (dictionary PATH, HMM tables DIR)".
  virtual std::string describe() const = 0;
};

// The folder of Debian's python3-jieba (dict.txt, finalseg/prob_*.py):
// $QLAB_JIEBA_DIR, else /usr/lib/python3/dist-packages/jieba.
std::string default_jieba_dir();
// Where MeCab dictionaries are looked for: $QLAB_MECAB_DIC_ROOT, else
// /var/lib/mecab/dic (where Debian's dictionary packages install).
std::string mecab_dic_root();
// The MeCab dictionary of ja lines: $QLAB_MECAB_DICT where set; else the first
// of ROOT/unidic (Debian's unidic-mecab, the reference's UniDic, 1 GB) and
// ROOT/ipadic-utf8 (mecab-ipadic-utf8, 7 MB: what tools/install_deps.sh
// installs by default) that holds a sys.dic; else "". docs/evaluators.md says
// why UniDic and how far IPAdic is from it.
std::string default_mecab_dict();

// The segmenters of zh and ja lines; null where the stand-in is used.
struct ZhJaSegmenters {
  std::unique_ptr<WordSegmenter> zh, ja;
  std::string zh_fallback, ja_fallback;   // why the stand-in, where it is used
  std::string ja_dictionary;              // mecab_dictionary_name of ja's dictionary, where MeCab is used
  // The segmenter of `language` (null: the stand-in, or a language split at whitespace).
  const WordSegmenter* for_language(const std::string& language) const;
  // One line per language: "zh: jieba (...)", "ja: stand-in (why)".
  std::vector<std::string> describe() const;
  // What a run's log warns of: a stand-in, a ja dictionary other than UniDic.
  std::vector<std::string> warnings() const;
};

// jieba_dict "": python3-jieba's dict.txt where installed, else the stand-in;
// a named file must load. Throws UsageError "PATH: ..." for a named dictionary
// that cannot be read or is not one, and for HMM tables that are not jieba's.
ZhJaSegmenters load_zh_ja_segmenters(const std::string& jieba_dict);
// The cheap part of that, before any run: a named dictionary exists and its
// first line is a jieba entry.
void check_zh_ja_segmenters(const std::string& jieba_dict);

}  // namespace qlab
