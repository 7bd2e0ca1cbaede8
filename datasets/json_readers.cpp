// Readers of JSON and JSON-lines formats: jsonl_text, jsonl_prompts, tofu_ml,
// jsonl_mc and SafetyBench.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "datasets/reader_util.h"
#include "datasets/readers.h"

namespace qlab {

// ordered_json keeps object keys in file order (SafetyBench categories).
using json = nlohmann::ordered_json;

namespace {

// Calls fn(record, line) for each non-blank line of a JSON-lines file, until
// fn returns false.
void for_each_jsonl(const std::string& path, const std::function<bool(const json&, int)>& fn) {
  std::string text = read_text_file(path);
  int line = 0;
  for (std::string_view raw : split_lines_keep_newline(text)) {
    ++line;
    std::string_view s = strip_newline(raw);
    if (s.find_first_not_of(" \t") == std::string_view::npos) continue;
    json j = json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw UsageError(located(path, line, 0, "invalid JSON"));
    if (!j.is_object()) throw UsageError(located(path, line, 0, "expected a JSON object"));
    if (!fn(j, line)) break;
  }
}

// The string at `key`; "" when absent and !required.
std::string string_field(const json& j, const std::string& key, bool required, const std::string& path,
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
int answer_index(const json& a, size_t n_options, const std::string& path, int line) {
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

std::vector<std::string> string_list(const json& j, const std::string& key, const std::string& path, int line) {
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

}  // namespace

Dataset read_jsonl_text(const std::string& path, const std::string& field, int64_t limit) {
  Dataset d;
  d.name = "jsonl_text";
  d.source = path;
  size_t n = 0;
  for_each_jsonl(path, [&](const json& j, int line) {
    if (n++ > 0) d.text += "\n\n";
    d.text += string_field(j, field, true, path, line);
    return keep_more(limit, n);
  });
  return d;
}

Dataset read_jsonl_prompts(const std::string& path, const PromptFields& f, int64_t limit) {
  Dataset d;
  d.name = "jsonl_prompts";
  d.source = path;
  for_each_jsonl(path, [&](const json& j, int line) {
    Example e;
    e.prompt = require_prompt(string_field(j, f.prompt, true, path, line), path, line);
    if (!f.id.empty()) e.id = string_field(j, f.id, false, path, line);
    if (e.id.empty()) e.id = std::to_string(d.examples.size());
    if (!f.reference.empty()) e.reference = string_field(j, f.reference, false, path, line);
    if (!f.label.empty()) e.label = string_field(j, f.label, false, path, line);
    if (!f.language.empty()) {
      std::string lang = string_field(j, f.language, false, path, line);
      if (lang.empty() && f.language == "language") lang = string_field(j, "lang", false, path, line);
      if (!lang.empty()) e.language = require_language(lang, path, line);
    }
    d.examples.push_back(std::move(e));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

Dataset read_tofu_ml(const std::string& path, const std::string& language, int64_t limit) {
  std::string code = language;
  if (code.empty()) {
    std::string stem = std::filesystem::path(path).stem().string();
    size_t us = stem.rfind('_');
    if (us == std::string::npos)
      throw UsageError(path + ": no language suffix in the file name (expected NAME_XX.jsonl); set 'language'");
    code = stem.substr(us + 1);
  }
  std::string lang = require_language(code, path, 0);
  Dataset d;
  d.name = "tofu_ml";
  d.source = path;
  for_each_jsonl(path, [&](const json& j, int line) {
    Example e;
    e.id = std::to_string(d.examples.size());
    e.prompt = require_prompt(string_field(j, "question", true, path, line), path, line);
    e.reference = string_field(j, "answer", true, path, line);
    e.language = lang;
    d.examples.push_back(std::move(e));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

Dataset read_jsonl_mc(const std::string& path, int64_t limit) {
  Dataset d;
  d.name = "jsonl_mc";
  d.source = path;
  for_each_jsonl(path, [&](const json& j, int line) {
    Example e;
    e.id = std::to_string(d.examples.size());
    e.prompt = string_field(j, "context", true, path, line);
    e.choices = string_list(j, "choices", path, line);
    if (!j.contains("answer")) throw UsageError(located(path, line, 0, "missing field 'answer'"));
    e.answer = answer_index(j["answer"], e.choices.size(), path, line);
    d.examples.push_back(std::move(e));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

// The file is one JSON document; an error's line is found from the byte offset
// nlohmann reports.
Dataset read_safetybench(const std::string& path, int64_t limit) {
  std::string text = read_text_file(path);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    size_t upto = std::min(e.byte, text.size());
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + upto, '\n'));
    throw UsageError(located(path, line, 0, "invalid JSON"));
  }
  if (!doc.is_object())
    throw UsageError(path + ": expected an object mapping each category to a list of questions");
  Dataset d;
  d.name = "safetybench";
  d.source = path;
  for (const auto& [category, items] : doc.items()) {
    if (!items.is_array()) throw UsageError(path + ": category '" + category + "' is not a list of questions");
    for (size_t k = 0; k < items.size(); ++k) {
      if (!keep_more(limit, d.examples.size())) return d;
      const json& q = items[k];
      std::string where = "category '" + category + "' item " + std::to_string(k);
      if (!q.is_object() || !q.contains("question") || !q.contains("options") || !q.contains("answer"))
        throw UsageError(path + ": " + where + " needs question, options and answer");
      Example e;
      e.id = q.contains("id") ? q["id"].dump() : std::to_string(d.examples.size());
      e.prompt = require_prompt(string_field(q, "question", true, path + " " + where, 0), path + " " + where, 0);
      e.choices = string_list(q, "options", path + " " + where, 0);
      e.answer = answer_index(q["answer"], e.choices.size(), path + " " + where, 0);
      e.label = category;
      e.language = "en";
      d.examples.push_back(std::move(e));
    }
  }
  return d;
}

}  // namespace qlab
