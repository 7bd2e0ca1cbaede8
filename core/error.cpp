#include "core/error.h"

namespace qlab {

std::string located(const std::string& file, int line, int column, const std::string& message) {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  if (line > 0 && column > 0) s += ":" + std::to_string(column);
  return s + ": " + message;
}

}  // namespace qlab
