// Unicode-script backend of LanguageIdentifier (see langid.h): exact for
// languages that are alone in their script, blind inside a script.
#include <algorithm>
#include <map>

#include "evaluation/common/langid.h"
#include "evaluation/common/text_norm.h"

namespace qlab {

namespace {

using text::Script;

// The script a language is written in; Latin for every language not listed.
Script script_of_language(const std::string& lang) {
  static const std::map<std::string, Script> table = {
      {"ar", Script::Arabic},   {"fa", Script::Arabic},     {"ur", Script::Arabic},     {"ps", Script::Arabic},
      {"hi", Script::Devanagari}, {"mr", Script::Devanagari}, {"ne", Script::Devanagari},
      {"sa", Script::Devanagari}, {"bn", Script::Bengali},  {"ko", Script::Hangul},     {"ja", Script::Katakana},
      {"zh", Script::Han},      {"ru", Script::Cyrillic},   {"uk", Script::Cyrillic},   {"bg", Script::Cyrillic},
      {"be", Script::Cyrillic}, {"mk", Script::Cyrillic},   {"sr", Script::Cyrillic},   {"kk", Script::Cyrillic},
      {"ky", Script::Cyrillic}, {"mn", Script::Cyrillic},   {"tg", Script::Cyrillic},   {"he", Script::Hebrew},
      {"yi", Script::Hebrew},   {"th", Script::Thai},       {"el", Script::Greek},      {"hy", Script::Armenian}};
  auto it = table.find(lang);
  return it == table.end() ? Script::Latin : it->second;
}

// The language a script means when nothing else is known.
std::string default_language(Script s) {
  switch (s) {
    case Script::Arabic: return "ar";
    case Script::Devanagari: return "hi";
    case Script::Bengali: return "bn";
    case Script::Hangul: return "ko";
    case Script::Katakana: return "ja";   // stands for "Japanese" (kana, or Han with kana)
    case Script::Han: return "zh";
    case Script::Cyrillic: return "ru";
    case Script::Hebrew: return "he";
    case Script::Thai: return "th";
    case Script::Greek: return "el";
    case Script::Armenian: return "hy";
    default: return "";
  }
}

class ScriptIdentifier : public LanguageIdentifier {
 public:
  explicit ScriptIdentifier(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {}

  LidResult identify(std::string_view utf8) const override {
    std::map<Script, int> count;
    int letters = 0;
    bool kana = false;
    for (char32_t c : text::decode_utf8(utf8)) {
      Script s = text::script_of(c);
      if (s == Script::None) continue;
      kana |= (s == Script::Hiragana || s == Script::Katakana);
      // Hiragana, Katakana, and Han beside kana are all "Japanese".
      if (s == Script::Hiragana) s = Script::Katakana;
      ++count[s];
      ++letters;
    }
    if (letters == 0) return {};
    if (kana && count.count(Script::Han)) {
      count[Script::Katakana] += count[Script::Han];
      count.erase(Script::Han);
    }
    auto best = std::max_element(count.begin(), count.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    double share = static_cast<double>(best->second) / letters;
    std::string lang = language_for(best->first);
    if (lang.empty()) return {};
    return {lang, share, share >= 0.9};
  }

  std::string name() const override { return "script"; }

 private:
  std::string language_for(Script s) const {
    std::string fallback = s == Script::Latin ? "latin" : default_language(s);
    if (allowed_.empty()) return fallback;
    std::vector<std::string> in_script;
    for (const auto& a : allowed_)
      if (script_of_language(a) == s) in_script.push_back(a);
    if (in_script.size() == 1) return in_script[0];
    if (std::find(in_script.begin(), in_script.end(), fallback) != in_script.end()) return fallback;
    // Several allowed Latin languages: undetermined, but still "Latin".
    return s == Script::Latin ? "latin" : "";
  }

  std::vector<std::string> allowed_;
};

}  // namespace

std::unique_ptr<LanguageIdentifier> make_script_identifier(const std::vector<std::string>& allowed) {
  return std::make_unique<ScriptIdentifier>(allowed);
}

}  // namespace qlab
