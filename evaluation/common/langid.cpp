#include "evaluation/common/langid.h"

#include <cstdio>   // compact_lang_det.h uses FILE without including it
#include <cld2/public/compact_lang_det.h>

#include <set>

#include "core/error.h"

namespace qlab {

// CLD2's own codes use a few legacy ISO 639-1 codes and regional variants.
static std::string from_legacy(std::string code) {
  for (char& c : code)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (code == "iw") return "he";
  if (code == "jw") return "jv";
  if (code == "in") return "id";
  if (code == "ji") return "yi";
  size_t dash = code.find_first_of("-_");
  if (dash != std::string::npos) code = code.substr(0, dash);   // zh-hant, zh-tw, sr-me
  return code;
}

static const std::set<std::string>& known_codes() {
  static const std::set<std::string> codes = [] {
    std::set<std::string> s;
    for (int i = 0; i < CLD2::NUM_LANGUAGES; ++i) {
      std::string raw = CLD2::LanguageCode(static_cast<CLD2::Language>(i));
      std::string c = from_legacy(raw);
      // "un" is CLD2's unknown, "xx-Latn" etc. are bare scripts.
      if (c.size() == 2 && c != "un" && raw.rfind("xx", 0) != 0) s.insert(c);
    }
    return s;
  }();
  return codes;
}

std::string canonical_language_code(const std::string& code) {
  std::string c = from_legacy(code);
  return known_codes().count(c) ? c : "";
}

const std::vector<std::string>& language_identifier_names() {
  static const std::vector<std::string> names = {"cld2", "exttextcat", "script", "fasttext"};
  return names;
}

std::unique_ptr<LanguageIdentifier> make_language_identifier(const std::string& name,
                                                             const std::vector<std::string>& allowed_languages,
                                                             const std::string& model_path) {
  std::vector<std::string> allowed;
  for (const auto& code : allowed_languages) {
    std::string iso = canonical_language_code(code);
    if (iso.empty())
      throw UsageError("language identifier: unknown language code '" + code + "' (expected ISO 639-1, e.g. en, zh)");
    allowed.push_back(iso);
  }
  if (name == "cld2") return make_cld2_identifier(allowed);
  if (name == "exttextcat") return make_textcat_identifier(allowed);
  if (name == "script") return make_script_identifier(allowed);
  if (name == "fasttext") return make_fasttext_identifier(model_path, allowed);
  throw UsageError("language identifier: unknown backend '" + name + "' (known: cld2, exttextcat, script, fasttext)");
}

}  // namespace qlab
