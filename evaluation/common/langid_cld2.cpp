// CLD2 backend of LanguageIdentifier (see langid.h). Best-effort mode is on so
// that short windows (a few words) still get a label; CLD2's reliability flag
// says how far to trust it.
#include <cstdio>   // compact_lang_det.h uses FILE without including it
#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include <algorithm>

#include "evaluation/common/langid.h"

namespace qlab {

namespace {

class Cld2Identifier : public LanguageIdentifier {
 public:
  explicit Cld2Identifier(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {}

  LidResult identify(std::string_view utf8) const override {
    CLD2::CLDHints hints = {nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE};
    CLD2::Language lang3[3];
    int percent3[3];
    double score3[3];
    int text_bytes = 0, valid_prefix = 0;
    bool reliable = false;
    CLD2::ExtDetectLanguageSummaryCheckUTF8(utf8.data(), static_cast<int>(utf8.size()), /*is_plain_text=*/true,
                                            &hints, CLD2::kCLDFlagBestEffort, lang3, percent3, score3,
                                            /*resultchunkvector=*/nullptr, &text_bytes, &reliable,
                                            &valid_prefix);
    for (int k = 0; k < 3; ++k) {
      if (lang3[k] == CLD2::UNKNOWN_LANGUAGE) continue;
      std::string iso = canonical_language_code(CLD2::LanguageCode(lang3[k]));
      if (iso.empty()) continue;
      if (!allowed_.empty() && std::find(allowed_.begin(), allowed_.end(), iso) == allowed_.end()) continue;
      // Only the top language carries CLD2's reliability verdict.
      return {iso, percent3[k] / 100.0, reliable && k == 0};
    }
    return {};
  }

  std::string name() const override { return "cld2"; }

 private:
  std::vector<std::string> allowed_;
};

}  // namespace

std::unique_ptr<LanguageIdentifier> make_cld2_identifier(const std::vector<std::string>& allowed) {
  return std::make_unique<Cld2Identifier>(allowed);
}

}  // namespace qlab
