// Readers of JSON and JSON-lines formats: jsonl_text, jsonl_prompts, tofu_ml,
// jsonl_mc and SafetyBench.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "datasets/json_util.h"
#include "datasets/reader_util.h"
#include "datasets/readers.h"

namespace qlab {

using json = OrderedJson;

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

namespace {

// One SafetyBench question: `where` names it in messages. The dev file's
// items carry `answer`; the test file's do not (its answers are hidden) and
// carry `id` and `category` instead.
Example safetybench_item(const json& q, const std::string& category, const std::string& where, bool answered,
                         size_t index) {
  if (!q.is_object() || !q.contains("question") || !q.contains("options") || (answered && !q.contains("answer")))
    throw UsageError(where + " needs question, options" + (answered ? " and answer" : ""));
  Example e;
  e.id = q.contains("id") ? (q["id"].is_string() ? q["id"].get<std::string>() : q["id"].dump()) : std::to_string(index);
  e.prompt = require_prompt(string_field(q, "question", true, where, 0), where, 0);
  e.choices = string_list(q, "options", where, 0);
  if (answered) e.answer = answer_index(q["answer"], e.choices.size(), where, 0);
  e.label = category;
  e.language = "en";
  return e;
}

}  // namespace

// The file is one JSON document; an error's line is found from the byte offset
// nlohmann reports. Dev: {category: [{question, options, answer}]}; test:
// [{id, category, question, options}].
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
  Dataset d;
  d.name = "safetybench";
  d.source = path;
  if (doc.is_array()) {
    for (size_t k = 0; k < doc.size() && keep_more(limit, d.examples.size()); ++k) {
      std::string where = path + " item " + std::to_string(k);
      const json& q = doc[k];
      if (!q.is_object() || !q.contains("id") || !q.contains("category"))
        throw UsageError(where + " needs id, category, question and options (SafetyBench test format)");
      d.examples.push_back(safetybench_item(q, string_field(q, "category", true, where, 0), where, false, k));
    }
    return d;
  }
  if (!doc.is_object())
    throw UsageError(path + ": neither SafetyBench format: expected {category: [{question, options, answer}]} (dev) "
                            "or [{id, category, question, options}] (test)");
  for (const auto& [category, items] : doc.items()) {
    if (!items.is_array())
      throw UsageError(path + ": neither SafetyBench format: category '" + category +
                       "' is not a list of questions (dev: {category: [{question, options, answer}]}; test: "
                       "[{id, category, question, options}])");
    for (size_t k = 0; k < items.size(); ++k) {
      if (!keep_more(limit, d.examples.size())) return d;
      std::string where = path + " category '" + category + "' item " + std::to_string(k);
      d.examples.push_back(safetybench_item(items[k], category, where, true, d.examples.size()));
    }
  }
  return d;
}

}  // namespace qlab
