// JSON helpers shared by the dataset readers (not part of the public reader
// API): JSON lines record by record, and typed fields with file:line errors.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qlab {

// ordered_json keeps object keys in file order (SafetyBench categories).
using OrderedJson = nlohmann::ordered_json;

// Calls fn(record, line) for each non-blank line of a JSON-lines file, until
// fn returns false.
void for_each_jsonl(const std::string& path, const std::function<bool(const OrderedJson&, int)>& fn);
// The string at `key` (an integer is spelled out); "" when absent and !required.
std::string string_field(const OrderedJson& j, const std::string& key, bool required, const std::string& path,
                         int line);
// An answer key: an index into the options, or a letter A, B, ...
int answer_index(const OrderedJson& a, size_t n_options, const std::string& path, int line);
// A non-empty list of strings at `key`.
std::vector<std::string> string_list(const OrderedJson& j, const std::string& key, const std::string& path, int line);

}  // namespace qlab
