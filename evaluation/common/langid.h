// Language identification behind one interface, for N-Mix and the Language
// Confusion Benchmark. Results are ISO 639-1 codes ("en", "zh", ...), "" when
// the backend cannot tell.
//
// Backends (make_language_identifier):
//   "cld2"        CLD2's ExtDetectLanguageSummary on plain text; confidence =
//                 the top language's percent of the text / 100, reliable = CLD2's
//                 own flag. With allowed languages, the best of CLD2's top three
//                 that is allowed, else "".
//   "exttextcat"  libexttextcat character n-gram fingerprints (Cavnar-Trenkle).
//                 With allowed languages, only their fingerprints are loaded (a
//                 conf written to a temp file at construction); without, every
//                 fingerprint with an ISO 639-1 name. It returns the candidates
//                 within its score threshold: confidence = 1 / their number,
//                 reliable = exactly one.
//   "script"      the Unicode script of the majority of letters: Arabic -> ar,
//                 Devanagari -> hi, Hangul -> ko, kana (or Han with any kana)
//                 -> ja, Han -> zh, Cyrillic -> ru, Hebrew -> he, Thai -> th,
//                 Greek -> el. Latin gives the pseudo-code "latin" (some Latin-
//                 script language) unless exactly one allowed language is
//                 written in Latin. With allowed languages a script maps to the
//                 allowed language written in it (if one). confidence = that
//                 script's share of the letters, reliable = share >= 0.9.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qlab {

struct LidResult {
  std::string lang;          // ISO 639-1, "latin" (script backend), or "" = unknown
  double confidence = 0.0;   // in [0, 1]; meaning per backend (above)
  bool reliable = false;
};

class LanguageIdentifier {
 public:
  virtual ~LanguageIdentifier() = default;
  virtual LidResult identify(std::string_view utf8) const = 0;
  virtual std::string name() const = 0;
};

// name: cld2 | exttextcat | script | fasttext. allowed_languages: ISO 639-1
// codes the answer is restricted to (empty = no restriction). model_path: the
// fastText model (read by "fasttext" only). Throws UsageError for an unknown
// backend or language code, or a model file that is not a fastText model.
std::unique_ptr<LanguageIdentifier> make_language_identifier(const std::string& name,
                                                             const std::vector<std::string>& allowed_languages = {},
                                                             const std::string& model_path = "");
const std::vector<std::string>& language_identifier_names();

// Canonical ISO 639-1 code of `code` (lower-cased; legacy "iw" -> "he",
// "jw" -> "jv", "in" -> "id", "ji" -> "yi"; "zh-Hant"/"zh-TW" -> "zh"), or ""
// when it is none of the ~160 languages CLD2 knows.
std::string canonical_language_code(const std::string& code);

// The canonical code of a fastText label ("__label__zh" -> "zh"; "" for a
// code CLD2 does not know, e.g. lid.176's "arz").
std::string fasttext_label_code(const std::string& label);
// Throws UsageError "PATH: ..." unless PATH starts like a fastText model file
// (magic number, a known format version): cheap, done before any run.
void check_fasttext_model(const std::string& path);

// Internal backend constructors (langid_cld2.cpp, langid_textcat.cpp, langid_script.cpp, langid_fasttext.cpp).
std::unique_ptr<LanguageIdentifier> make_cld2_identifier(const std::vector<std::string>& allowed);
std::unique_ptr<LanguageIdentifier> make_textcat_identifier(const std::vector<std::string>& allowed);
std::unique_ptr<LanguageIdentifier> make_script_identifier(const std::vector<std::string>& allowed);
std::unique_ptr<LanguageIdentifier> make_fasttext_identifier(const std::string& model_path,
                                                             const std::vector<std::string>& allowed);

}  // namespace qlab
