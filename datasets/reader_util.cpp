#include "datasets/reader_util.h"

#include "core/error.h"
#include "evaluation/common/langid.h"

namespace qlab {

std::string require_prompt(std::string text, const std::string& file, int line) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw UsageError(located(file, line, 0, "empty prompt"));
  return text;
}

std::string require_language(const std::string& code, const std::string& file, int line) {
  std::string iso = canonical_language_code(code);
  if (iso.empty())
    throw UsageError(located(file, line, 0,
                             "unknown language code '" + code + "' (expected an ISO 639-1 code such as en, zh, ar)"));
  return iso;
}

}  // namespace qlab
