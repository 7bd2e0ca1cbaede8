#include "evaluation/common/mecab_segmenter.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include "core/error.h"

#if QLAB_HAVE_MECAB
#include <mecab.h>

#include <mutex>
#include <vector>

#include "evaluation/common/text_norm.h"
#endif

namespace qlab {

std::string mecab_dictionary_name(const std::string& dicdir) {
  std::ifstream f(dicdir + "/dicrc");
  std::string dicrc((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::transform(dicrc.begin(), dicrc.end(), dicrc.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (dicrc.find("unidic") != std::string::npos) return "UniDic";
  if (dicrc.find("ipadic") != std::string::npos) return "IPAdic";
  return "";
}

#if QLAB_HAVE_MECAB

namespace {

class MecabSegmenter : public WordSegmenter {
 public:
  explicit MecabSegmenter(const std::string& dicdir) : dicdir_(dicdir), name_(mecab_dictionary_name(dicdir)) {
    // No resource file (-r /dev/null): everything MeCab reads is in the
    // dictionary folder, so /etc/mecabrc's choice does not matter.
    std::vector<std::string> args = {"mecab", "-r", "/dev/null", "-d", dicdir, "-O", "wakati"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    mecab_ = mecab_new(int(argv.size()), argv.data());
    if (!mecab_) throw UsageError(dicdir + ": MeCab cannot open it as a dictionary (" + mecab_strerror(nullptr) + ")");
  }
  ~MecabSegmenter() override { mecab_destroy(mecab_); }
  MecabSegmenter(const MecabSegmenter&) = delete;
  MecabSegmenter& operator=(const MecabSegmenter&) = delete;

  std::vector<std::string> segment(std::string_view line) const override {
    std::string wakati;
    {
      std::lock_guard<std::mutex> lock(mutex_);   // one mecab_t parses one sentence at a time
      const char* out = mecab_sparse_tostr2(mecab_, line.data(), line.size());
      if (out) wakati = out;
    }
    // The reference's .split(): runs of Python whitespace separate tokens.
    std::vector<std::string> tokens;
    std::string token;
    for (char32_t c : text::decode_utf8(wakati)) {
      if (text::python_space(c)) {
        if (!token.empty()) tokens.push_back(std::move(token));
        token.clear();
      } else {
        text::append_utf8(token, c);
      }
    }
    if (!token.empty()) tokens.push_back(std::move(token));
    return tokens;
  }

  std::string describe() const override {
    const std::string which = name_.empty() ? "unrecognised dictionary, " : name_ + ", ";
    return "MeCab " + std::string(mecab_version()) + " (" + which + "dictionary " + dicdir_ +
           (name_ == "UniDic" ? ")" : "; not the reference's UniDic)");
  }

 private:
  std::string dicdir_, name_;
  mecab_t* mecab_ = nullptr;
  mutable std::mutex mutex_;
};

}  // namespace

bool mecab_built_in() { return true; }

std::unique_ptr<WordSegmenter> make_mecab_segmenter(const std::string& dicdir) {
  return std::make_unique<MecabSegmenter>(dicdir);
}

#else

bool mecab_built_in() { return false; }

std::unique_ptr<WordSegmenter> make_mecab_segmenter(const std::string&) { return nullptr; }

#endif

}  // namespace qlab
