// Readers of the zero-shot tasks (datasets/zeroshot.h), their task table, and
// the dataset plugins: one per task plus `zeroshot`, the whole folder.
// Contexts and choices are built as lm-eval 0.4's task definitions do (the
// prompts are facts of those definitions; docs/evaluators.md lists them).
#include "datasets/zeroshot.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "core/registry.h"
#include "datasets/json_util.h"
#include "datasets/reader_util.h"
#include "datasets/readers.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

// The split file: `path` itself, or `file` inside the folder `path`.
std::string split_file(const std::string& path, const std::string& file) {
  return fs::is_directory(path) ? (fs::path(path) / file).string() : path;
}

// "valid.jsonl" -> "valid-labels.lst" beside it (PIQA, Social IQa).
std::string labels_file(const std::string& split) {
  fs::path p(split);
  return (p.parent_path() / (p.stem().string() + "-labels.lst")).string();
}

// A label `text` that must be an integer in [lo, lo + n); returns it minus lo.
int label_in_range(const std::string& text, int lo, int n, const std::string& file, int line) {
  size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < lo || v >= lo + n)
    throw UsageError(located(file, line, 0, "label '" + text + "' is not one of " + std::to_string(lo) + ".." +
                                                std::to_string(lo + n - 1)));
  return v - lo;
}

// The label of each line of a labels file, as text; blank lines are errors
// (they would shift every later label).
std::vector<std::string> read_label_lines(const std::string& file) {
  std::string text = read_text_file(file);
  std::vector<std::string> labels;
  for (std::string_view raw : split_lines_keep_newline(text)) {
    std::string s(strip_newline(raw));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    labels.push_back(s);
  }
  return labels;
}

Dataset begin(const std::string& task, const std::string& source) {
  Dataset d;
  d.name = task;
  d.source = source;
  return d;
}

Example item(const std::string& task, size_t index, std::string context, std::vector<std::string> choices,
             int answer) {
  Example e;
  e.id = std::to_string(index);
  e.prompt = std::move(context);
  e.choices = std::move(choices);
  e.answer = answer;
  e.label = task;
  e.language = "en";
  return e;
}

// A JSON-lines split whose gold labels sit in a line-aligned labels file
// (PIQA: 0-based, Social IQa: 1-based). build(record, line) -> context, choices.
using ContextAndChoices = std::pair<std::string, std::vector<std::string>>;
Dataset read_with_labels(const std::string& task, const std::string& split, int label_base, int64_t limit,
                         const std::function<ContextAndChoices(const OrderedJson&, int)>& build) {
  std::string lfile = labels_file(split);
  std::vector<std::string> labels = read_label_lines(lfile);
  Dataset d = begin(task, split);
  size_t records = 0;
  for_each_jsonl(split, [&](const OrderedJson& j, int line) {
    if (records >= labels.size())
      throw UsageError(located(split, line, 0, "no label for this item in " + lfile + " (it has " +
                                                   std::to_string(labels.size()) + " lines)"));
    auto [context, choices] = build(j, line);
    int n = static_cast<int>(choices.size());
    int answer = label_in_range(labels[records], label_base, n, lfile, static_cast<int>(records + 1));
    d.examples.push_back(item(task, records++, std::move(context), std::move(choices), answer));
    return keep_more(limit, d.examples.size());
  });
  if (limit <= 0 && records != labels.size())
    throw UsageError(lfile + ": " + std::to_string(labels.size()) + " labels, but " + split + " has " +
                     std::to_string(records) + " items");
  return d;
}

Dataset read_piqa(const std::string& path, int64_t limit) {
  std::string f = split_file(path, "valid.jsonl");
  return read_with_labels("piqa", f, 0, limit, [&](const OrderedJson& j, int line) {
    return ContextAndChoices{"Question: " + string_field(j, "goal", true, f, line) + "\nAnswer:",
                             {string_field(j, "sol1", true, f, line), string_field(j, "sol2", true, f, line)}};
  });
}

Dataset read_social_iqa(const std::string& path, int64_t limit) {
  std::string f = split_file(path, "dev.jsonl");
  return read_with_labels("social_iqa", f, 1, limit, [&](const OrderedJson& j, int line) {
    return ContextAndChoices{
        "Q: " + string_field(j, "context", true, f, line) + " " + string_field(j, "question", true, f, line) + "\nA:",
        {string_field(j, "answerA", true, f, line), string_field(j, "answerB", true, f, line),
         string_field(j, "answerC", true, f, line)}};
  });
}

// ARC and OpenBookQA share AI2's layout: question.stem, question.choices
// [{text, label}], answerKey naming one of the labels.
Dataset read_ai2_questions(const std::string& task, const std::string& file, bool question_answer_frame,
                           int64_t limit) {
  Dataset d = begin(task, file);
  for_each_jsonl(file, [&](const OrderedJson& j, int line) {
    auto q = j.find("question");
    if (q == j.end() || !q->is_object()) throw UsageError(located(file, line, 0, "missing object 'question'"));
    std::string stem = string_field(*q, "stem", true, file, line);
    auto cs = q->find("choices");
    if (cs == q->end() || !cs->is_array() || cs->empty())
      throw UsageError(located(file, line, 0, "field 'question.choices' must be a non-empty list"));
    std::string key = string_field(j, "answerKey", true, file, line);
    std::vector<std::string> texts;
    int answer = -1;
    for (const auto& c : *cs) {
      if (!c.is_object()) throw UsageError(located(file, line, 0, "a choice is not a {text, label} object"));
      if (string_field(c, "label", true, file, line) == key) answer = static_cast<int>(texts.size());
      texts.push_back(string_field(c, "text", true, file, line));
    }
    if (answer < 0) throw UsageError(located(file, line, 0, "answerKey '" + key + "' is none of the choice labels"));
    std::string context = question_answer_frame ? "Question: " + stem + "\nAnswer:" : stem;
    d.examples.push_back(item(task, d.examples.size(), std::move(context), std::move(texts), answer));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

Dataset read_boolq(const std::string& path, int64_t limit) {
  std::string f = split_file(path, "val.jsonl");
  Dataset d = begin("boolq", f);
  for_each_jsonl(f, [&](const OrderedJson& j, int line) {
    auto label = j.find("label");
    if (label == j.end() || !label->is_boolean())
      throw UsageError(located(f, line, 0, "field 'label' must be true or false (SuperGLUE's val.jsonl)"));
    std::string context = string_field(j, "passage", true, f, line) + "\nQuestion: " +
                          string_field(j, "question", true, f, line) + "?\nAnswer:";
    d.examples.push_back(item("boolq", d.examples.size(), std::move(context), {"no", "yes"}, label->get<bool>()));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

// Partial scoring: the sentence cut at its blank; each option completes the
// text before it into one context; the text after it, stripped, is the
// continuation both contexts are scored on.
Dataset read_winogrande(const std::string& path, int64_t limit) {
  std::string f = split_file(path, "dev.jsonl");
  Dataset d = begin("winogrande", f);
  for_each_jsonl(f, [&](const OrderedJson& j, int line) {
    std::string sentence = string_field(j, "sentence", true, f, line);
    size_t blank = sentence.find('_');
    if (blank == std::string::npos) throw UsageError(located(f, line, 0, "sentence has no blank '_'"));
    std::vector<std::string> options = {string_field(j, "option1", true, f, line),
                                        string_field(j, "option2", true, f, line)};
    int answer = label_in_range(string_field(j, "answer", true, f, line), 1, 2, f, line);
    Example e = item("winogrande", d.examples.size(), sentence.substr(0, blank), options, answer);
    for (const auto& o : options) e.contexts.push_back(e.prompt + o);
    std::string after = sentence.substr(blank + 1);
    size_t a = after.find_first_not_of(" \t\n\r\f\v"), b = after.find_last_not_of(" \t\n\r\f\v");
    e.reference = a == std::string::npos ? "" : after.substr(a, b - a + 1);
    d.examples.push_back(std::move(e));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

// The text split on single spaces: context = all pieces but the last, the
// target the last one.
Dataset read_lambada(const std::string& path, int64_t limit) {
  std::string f = split_file(path, "lambada_test.jsonl");
  Dataset d = begin("lambada_openai", f);
  for_each_jsonl(f, [&](const OrderedJson& j, int line) {
    std::string text = string_field(j, "text", true, f, line);
    size_t cut = text.rfind(' ');
    if (cut == std::string::npos) throw UsageError(located(f, line, 0, "text has no space to cut its last word at"));
    Example e = item("lambada_openai", d.examples.size(), text.substr(0, cut), {}, -1);
    e.reference = text.substr(cut + 1);
    d.examples.push_back(std::move(e));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

// Python's str.capitalize on ASCII: the first letter upper, the rest lower.
std::string capitalize(std::string s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c < 0x80) s[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return s;
}

Dataset read_hellaswag(const std::string& path, int64_t limit) {
  std::string f = split_file(path, "hellaswag_val.jsonl");
  Dataset d = begin("hellaswag", f);
  for_each_jsonl(f, [&](const OrderedJson& j, int line) {
    std::string ctx = string_field(j, "ctx_a", true, f, line) + " " + capitalize(string_field(j, "ctx_b", true, f, line));
    std::string query = hellaswag_preprocess(string_field(j, "activity_label", true, f, line) + ": " + ctx);
    std::vector<std::string> endings;
    for (const auto& e : string_list(j, "endings", f, line)) endings.push_back(hellaswag_preprocess(e));
    int answer = label_in_range(string_field(j, "label", true, f, line), 0, static_cast<int>(endings.size()), f, line);
    d.examples.push_back(item("hellaswag", d.examples.size(), std::move(query), std::move(endings), answer));
    return keep_more(limit, d.examples.size());
  });
  return d;
}

}  // namespace

std::string hellaswag_preprocess(const std::string& text) {
  const char* ws = " \t\n\r\f\v";
  size_t a = text.find_first_not_of(ws), b = text.find_last_not_of(ws);
  std::string s = a == std::string::npos ? "" : text.substr(a, b - a + 1);
  for (size_t at; (at = s.find(" [title]")) != std::string::npos;) s.replace(at, 8, ". ");
  // re.sub(r"\[.*?\]", ""): from a '[' to the nearest ']' on the same line.
  std::string untagged;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t close = s[i] == '[' ? s.find_first_of("]\n", i + 1) : std::string::npos;
    if (close != std::string::npos && s[close] == ']') {
      i = close;
      continue;
    }
    untagged += s[i];
  }
  std::string out;
  for (size_t i = 0; i < untagged.size(); ++i) {
    out += untagged[i];
    if (untagged[i] == ' ' && i + 1 < untagged.size() && untagged[i + 1] == ' ') ++i;
  }
  return out;
}

const std::vector<ZeroShotTask>& zeroshot_tasks() {
  static const std::vector<ZeroShotTask> tasks = {
      {"piqa", "valid.jsonl", true, false, read_piqa},
      {"arc_easy", "ARC-Easy-Test.jsonl", true, false,
       [](const std::string& p, int64_t n) {
         return read_ai2_questions("arc_easy", split_file(p, "ARC-Easy-Test.jsonl"), true, n);
       }},
      {"arc_challenge", "ARC-Challenge-Test.jsonl", true, false,
       [](const std::string& p, int64_t n) {
         return read_ai2_questions("arc_challenge", split_file(p, "ARC-Challenge-Test.jsonl"), true, n);
       }},
      {"hellaswag", "hellaswag_val.jsonl", true, false, read_hellaswag},
      {"winogrande", "dev.jsonl", false, false, read_winogrande},
      {"boolq", "val.jsonl", false, false, read_boolq},
      {"openbookqa", "test.jsonl", true, false,
       [](const std::string& p, int64_t n) {
         return read_ai2_questions("openbookqa", split_file(p, "test.jsonl"), false, n);
       }},
      {"social_iqa", "dev.jsonl", false, false, read_social_iqa},
      {"lambada_openai", "lambada_test.jsonl", false, true, read_lambada},
  };
  return tasks;
}

const ZeroShotTask* find_zeroshot_task(const std::string& name) {
  for (const auto& t : zeroshot_tasks())
    if (t.name == name) return &t;
  return nullptr;
}

Dataset read_zeroshot(const std::string& root, const std::vector<std::string>& tasks, int64_t limit_per_task) {
  if (!fs::is_directory(root)) throw UsageError(root + ": not a folder (expected the zero-shot root, one folder per task)");
  for (const auto& name : tasks)
    if (!find_zeroshot_task(name)) throw UsageError(root + ": unknown zero-shot task '" + name + "'");
  Dataset d;
  d.name = "zeroshot";
  d.source = root;
  for (const auto& t : zeroshot_tasks()) {
    bool named = std::find(tasks.begin(), tasks.end(), t.name) != tasks.end();
    if (!tasks.empty() && !named) continue;
    fs::path split = fs::path(root) / t.name / t.file;
    if (!fs::is_regular_file(split)) {
      if (named) throw UsageError(split.string() + ": task '" + t.name + "' was asked for but its split is missing");
      spdlog::info("zeroshot: {} not found, task {} skipped", split.string(), t.name);
      continue;
    }
    Dataset one = t.read(split.string(), limit_per_task);
    for (auto& e : one.examples) d.examples.push_back(std::move(e));
  }
  if (d.examples.empty()) throw UsageError(root + ": no zero-shot task split found under this folder");
  return d;
}

namespace {

ParamSpec limit_param() { return {"limit", ParamType::Int, "0", "keep the first N items (0 = all)", false, 0.0}; }

const bool registered = [] {
  for (const auto& t : zeroshot_tasks()) {
    auto read = t.read;
    Registry::instance().add(DatasetInfo{
        t.name, "zero-shot task " + t.name + " (lm-eval's prompt; label = the task)",
        {{"path", ParamType::String, "", t.file + ", or the folder holding it", true}, limit_param()},
        [read](const Params& p) { return read(p.get_string("path"), p.get_int("limit")); }});
  }
  std::vector<std::string> names;
  for (const auto& t : zeroshot_tasks()) names.push_back(t.name);
  Registry::instance().add(DatasetInfo{
      "zeroshot", "the zero-shot suite: every task folder present under `path` (piqa/, arc_easy/, ...)",
      {{"path", ParamType::String, "", "the zero-shot root (../shared/data/zeroshot)", true},
       {"tasks", ParamType::StringList, "[]", "tasks to read (empty: every one present)", false, {}, {}, names},
       {"limit", ParamType::Int, "0", "keep the first N items of each task (0 = all)", false, 0.0}},
      [](const Params& p) {
        return read_zeroshot(p.get_string("path"), p.get_string_list("tasks"), p.get_int("limit"));
      }});
  return true;
}();

}  // namespace
}  // namespace qlab
