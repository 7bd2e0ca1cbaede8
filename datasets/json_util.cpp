// The JSON helpers of datasets/json_util.h.
#include "datasets/json_util.h"

#include "core/error.h"
#include "datasets/reader_util.h"
#include "datasets/readers.h"

namespace qlab {

// Calls fn(record, line) for each non-blank line of a JSON-lines file, until
// fn returns false.
void for_each_jsonl(const std::string& path, const std::function<bool(const OrderedJson&, int)>& fn) {
  std::string text = read_text_file(path);
  int line = 0;
  for (std::string_view raw : split_lines_keep_newline(text)) {
    ++line;
    std::string_view s = strip_newline(raw);
    if (s.find_first_not_of(" \t") == std::string_view::npos) continue;
    OrderedJson j = OrderedJson::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw UsageError(located(path, line, 0, "invalid JSON"));
    if (!j.is_object()) throw UsageError(located(path, line, 0, "expected a JSON object"));
    if (!fn(j, line)) break;
  }
}

// The string at `key`; "" when absent and !required.
std::string string_field(const OrderedJson& j, const std::string& key, bool required, const std::string& path,
                         int line) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw UsageError(located(path, line, 0, "missing field '" + key + "'"));
    return "";
  }
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  if (!it->is_string()) throw UsageError(located(path, line, 0, "field '" + key + "' is not a string"));
  return it->get<std::string>();
}

// An answer key: an index into the options, or a letter A, B, ...
int answer_index(const OrderedJson& a, size_t n_options, const std::string& path, int line) {
  int64_t idx = -1;
  if (a.is_number_integer()) {
    idx = a.get<int64_t>();
  } else if (a.is_string() && a.get<std::string>().size() == 1) {
    char c = a.get<std::string>()[0];
    if (c >= 'A' && c <= 'Z') idx = c - 'A';
    if (c >= 'a' && c <= 'z') idx = c - 'a';
  }
  if (idx < 0 || idx >= static_cast<int64_t>(n_options))
    throw UsageError(located(path, line, 0,
                             "answer " + a.dump() + " does not name one of the " + std::to_string(n_options) +
                                 " options"));
  return static_cast<int>(idx);
}

std::vector<std::string> string_list(const OrderedJson& j, const std::string& key, const std::string& path, int line) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->empty())
    throw UsageError(located(path, line, 0, "field '" + key + "' must be a non-empty list of strings"));
  std::vector<std::string> out;
  for (const auto& o : *it) {
    if (!o.is_string()) throw UsageError(located(path, line, 0, "field '" + key + "' holds a non-string"));
    out.push_back(o.get<std::string>());
  }
  return out;
}

}  // namespace qlab
