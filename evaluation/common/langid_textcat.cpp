// libexttextcat backend of LanguageIdentifier (see langid.h). The fingerprint
// set is chosen at construction: a conf listing only the wanted .lm files, each
// named by its ISO 639-1 code, is written to a temp file and loaded.
#include <libexttextcat/textcat.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/error.h"
#include "evaluation/common/langid.h"

namespace fs = std::filesystem;

namespace qlab {

namespace {

// Debian's libexttextcat-data; QLAB_TEXTCAT_DIR overrides it.
std::string fingerprint_dir() {
  const char* env = std::getenv("QLAB_TEXTCAT_DIR");
  return env ? env : "/usr/share/libexttextcat";
}

class TextcatIdentifier : public LanguageIdentifier {
 public:
  explicit TextcatIdentifier(const std::vector<std::string>& allowed) {
    std::string dir = fingerprint_dir();
    std::ifstream db(dir + "/fpdb.conf");
    if (!db) throw UsageError(dir + "/fpdb.conf: cannot read the exttextcat fingerprint list (install libexttextcat-data)");
    // Keep each fingerprint whose file name is an ISO 639-1 code (zh-Hans.lm
    // and zh-Hant.lm both give "zh") and, when restricted, is allowed.
    std::string conf, line;
    std::vector<std::string> have;
    while (std::getline(db, line)) {
      std::istringstream fields(line);
      std::string file;
      if (!(fields >> file) || file[0] == '#' || file.size() < 4) continue;
      std::string iso = canonical_language_code(file.substr(0, file.size() - 3));
      if (iso.empty() || std::find(have.begin(), have.end(), file) != have.end()) continue;
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), iso) == allowed.end()) continue;
      have.push_back(file);
      conf += file + " " + iso + "\n";
      langs_.push_back(iso);
    }
    for (const auto& a : allowed)
      if (std::find(langs_.begin(), langs_.end(), a) == langs_.end())
        throw UsageError("exttextcat: no fingerprint for language '" + a + "' in " + dir);
    if (conf.empty()) throw UsageError(dir + "/fpdb.conf: no usable fingerprints");

    std::string tmp = (fs::temp_directory_path() / "qlab-textcat-XXXXXX").string();
    int fd = mkstemp(tmp.data());
    if (fd < 0) throw std::runtime_error("exttextcat: cannot create a temp conf file");
    close(fd);
    { std::ofstream(tmp) << conf; }
    handle_ = special_textcat_Init(tmp.c_str(), (dir + "/").c_str());
    fs::remove(tmp);
    if (!handle_) throw UsageError(dir + ": exttextcat could not load its fingerprints");
    // Windows of a few words are short documents; classify them anyway.
    textcat_SetProperty(handle_, TCPROP_MINIMUM_DOCUMENT_SIZE, 1);
    candidates_ = textcat_GetClassifyFullOutput(handle_);
  }

  ~TextcatIdentifier() override {
    textcat_ReleaseClassifyFullOutput(handle_, candidates_);
    textcat_Done(handle_);
  }

  LidResult identify(std::string_view utf8) const override {
    std::lock_guard<std::mutex> lock(mutex_);   // the handle holds per-call state
    int n = textcat_ClassifyFull(handle_, utf8.data(), utf8.size(), candidates_);
    if (n <= 0) return {};   // UNKNOWN (too many candidates) or SHORT
    // Candidates within the library's score threshold, best first; drop the
    // duplicates two fingerprints of one language give.
    std::vector<std::string> distinct;
    for (int i = 0; i < n; ++i)
      if (std::find(distinct.begin(), distinct.end(), candidates_[i].name) == distinct.end())
        distinct.push_back(candidates_[i].name);
    return {distinct[0], 1.0 / distinct.size(), distinct.size() == 1};
  }

  std::string name() const override { return "exttextcat"; }

 private:
  void* handle_ = nullptr;
  candidate_t* candidates_ = nullptr;
  std::vector<std::string> langs_;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<LanguageIdentifier> make_textcat_identifier(const std::vector<std::string>& allowed) {
  return std::make_unique<TextcatIdentifier>(allowed);
}

}  // namespace qlab
