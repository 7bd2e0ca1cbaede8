// fastText backend of LanguageIdentifier (see langid.h): a supervised fastText
// model whose labels are languages, e.g. lid.176.bin, the model the Language
// Confusion Benchmark identifies lines with. A text is predicted as the
// reference's Python binding predicts it (the text plus a newline, so the
// end-of-sentence token counts); labels `__label__xx` become canonical codes.
//
// fastText's loader trusts the file (a wrong one can abort the process), so
// the magic number and version are checked here first, and a model without
// labels (word vectors) is refused.
#include <fasttext/fasttext.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "evaluation/common/langid.h"

namespace qlab {

namespace {

// fastText's file format (src/fasttext.cc): int32 magic, then int32 version.
constexpr int32_t kFastTextMagic = 793712314;
constexpr int32_t kFastTextMaxVersion = 12;

class FastTextIdentifier : public LanguageIdentifier {
 public:
  FastTextIdentifier(const std::string& path, std::vector<std::string> allowed) : allowed_(std::move(allowed)) {
    check_fasttext_model(path);
    try {
      model_.loadModel(path);
    } catch (const std::exception& e) {
      throw UsageError(path + ": cannot load the fastText model (" + e.what() + ")");
    }
    if (model_.getDictionary()->nlabels() == 0)
      throw UsageError(path + ": a fastText model without labels (word vectors?), not a language identifier");
  }

  LidResult identify(std::string_view utf8) const override {
    std::istringstream in(std::string(utf8) + "\n");
    std::vector<std::pair<fasttext::real, std::string>> predictions;
    // Unrestricted: the top label, as LCB asks for; restricted: every label, best allowed first.
    int32_t k = allowed_.empty() ? 1 : -1;
    model_.predictLine(in, predictions, k, 0.0);
    for (const auto& [probability, label] : predictions) {
      std::string code = fasttext_label_code(label);
      if (!allowed_.empty() && std::find(allowed_.begin(), allowed_.end(), code) == allowed_.end()) continue;
      double p = std::min<double>(1.0, probability);
      return {code, p, p >= 0.5};
    }
    return {};
  }

  std::string name() const override { return "fasttext"; }

 private:
  fasttext::FastText model_;
  std::vector<std::string> allowed_;
};

}  // namespace

std::string fasttext_label_code(const std::string& label) {
  static const std::string prefix = "__label__";
  std::string code = label.rfind(prefix, 0) == 0 ? label.substr(prefix.size()) : label;
  return canonical_language_code(code);
}

void check_fasttext_model(const std::string& path) {
  if (path.empty()) throw UsageError("identifier fasttext: `fasttext_model` names no file (give the path of lid.176.bin)");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(path + ": cannot read the fastText model");
  int32_t header[2] = {0, 0};
  f.read(reinterpret_cast<char*>(header), sizeof header);
  if (!f || header[0] != kFastTextMagic)
    throw UsageError(path + ": not a fastText model (no fastText magic number at its start)");
  if (header[1] < 1 || header[1] > kFastTextMaxVersion)
    throw UsageError(path + ": fastText file format version " + std::to_string(header[1]) + " (this libfasttext reads up to " +
                     std::to_string(kFastTextMaxVersion) + ")");
}

std::unique_ptr<LanguageIdentifier> make_fasttext_identifier(const std::string& model_path,
                                                             const std::vector<std::string>& allowed) {
  return std::make_unique<FastTextIdentifier>(model_path, allowed);
}

}  // namespace qlab
