#include "core/atomic_file.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace qlab {

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f.flush()) {
      std::filesystem::remove(tmp, ec);   // nothing half-written left behind
      throw UsageError(path + ": write failed");
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw UsageError(path + ": write failed: " + ec.message());
  }
}

}  // namespace qlab
