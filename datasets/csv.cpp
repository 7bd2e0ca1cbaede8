#include "datasets/csv.h"

#include "core/error.h"
#include "datasets/readers.h"

namespace qlab {

size_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  std::string have;
  for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
  throw UsageError(path + ": missing column '" + name + "' (have: " + have + ")");
}

// A small state machine over the bytes: each record ends at a newline that is
// not inside quotes. CRLF line ends are accepted (the CR is dropped).
CsvTable parse_csv(std::string_view text, const std::string& path) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  std::vector<std::vector<std::string>> records;
  std::vector<int> starts;
  std::vector<std::string> record;
  std::string field;
  int line = 1, record_line = 1;
  size_t i = 0, n = text.size();
  bool any = false;  // the current record has content (so a trailing newline ends no empty record)
  while (i < n) {
    char c = text[i];
    if (c == '"' && field.empty()) {
      int quote_line = line;
      ++i;
      for (;;) {
        if (i >= n) throw UsageError(located(path, quote_line, 0, "unterminated quoted field"));
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') { field += '"'; i += 2; continue; }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
        throw UsageError(located(path, line, 0, "text after a closing quote (a quote inside a field must be doubled)"));
      any = true;
      continue;
    }
    if (c == ',') { record.push_back(std::move(field)); field.clear(); any = true; ++i; continue; }
    if (c == '\r' && i + 1 < n && text[i + 1] == '\n') { ++i; continue; }
    if (c == '\n') {
      if (any || !field.empty()) {
        record.push_back(std::move(field));
        records.push_back(std::move(record));
        starts.push_back(record_line);
      }
      field.clear();
      record.clear();
      any = false;
      ++line;
      record_line = line;
      ++i;
      continue;
    }
    if (c == '"') throw UsageError(located(path, line, 0, "quote inside an unquoted field"));
    field += c;
    any = true;
    ++i;
  }
  if (any || !field.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
    starts.push_back(record_line);
  }
  if (records.empty()) throw UsageError(path + ": empty CSV file (no header row)");

  CsvTable t;
  t.path = path;
  t.header = std::move(records[0]);
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != t.header.size())
      throw UsageError(located(path, starts[r], 0,
                               "expected " + std::to_string(t.header.size()) + " fields, found " +
                                   std::to_string(records[r].size())));
    t.rows.push_back(std::move(records[r]));
    t.lines.push_back(starts[r]);
  }
  return t;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_text_file(path), path); }

}  // namespace qlab
