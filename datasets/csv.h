// RFC 4180 CSV: comma-separated fields, double-quoted fields that may hold
// commas, doubled quotes ("") and newlines. The first row is the header.
// Errors are UsageError "file:line: ..." with the line where the bad row starts.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace qlab {

struct CsvTable {
  std::string path;                               // for error messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;     // each has header.size() fields
  std::vector<int> lines;                         // 1-based line where row i starts

  // Index of a header column; throws "path: missing column 'x' (have: a, b)".
  size_t column(const std::string& name) const;
};

CsvTable parse_csv(std::string_view text, const std::string& path);
CsvTable read_csv(const std::string& path);

}  // namespace qlab
