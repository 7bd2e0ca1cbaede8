// Corpus readers and the CSV prompt sets (AdvBench, XSTest), plus parallel text.
#include "datasets/readers.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/model/unicode.h"
#include "datasets/csv.h"
#include "datasets/reader_util.h"

namespace fs = std::filesystem;

namespace qlab {

std::string read_text_file(const std::string& path) {
  if (fs::is_directory(path)) throw UsageError(path + ": is a folder, expected a file");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(path + ": cannot read file");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  // Every reader's text goes to a tokenizer, which takes UTF-8: say where it is not.
  if (size_t bad = unicode::first_invalid(text); bad != std::string::npos)
    throw UsageError(path + ": not valid UTF-8 at byte offset " + std::to_string(bad));
  return text;
}

std::vector<std::string_view> split_lines_keep_newline(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

std::string_view strip_newline(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool keep_more(int64_t limit, size_t have) { return limit <= 0 || static_cast<int64_t>(have) < limit; }

std::string wikitext2_join(std::string_view raw, int64_t limit_rows) {
  std::string out;
  size_t rows = 0;
  for (std::string_view line : split_lines_keep_newline(raw)) {
    if (!keep_more(limit_rows, rows)) break;
    if (rows++ > 0) out += "\n\n";
    if (line != " \n") out += line;
  }
  return out;
}

Dataset read_wikitext2_raw(const std::string& path, int64_t limit_rows, const std::string& split) {
  std::string file = path;
  if (fs::is_directory(path)) {
    file.clear();
    for (const std::string& name : {split + ".raw", "wiki." + split + ".raw"})
      if (fs::is_regular_file(fs::path(path) / name)) { file = (fs::path(path) / name).string(); break; }
    if (file.empty())
      throw UsageError(path + ": folder holds neither " + split + ".raw nor wiki." + split + ".raw" +
                       (split == "train" ? " (WikiText-2 train is not in ../shared/data; docs/evaluators.md says where to get it)"
                                         : ""));
  }
  Dataset d;
  d.name = "wikitext2_raw";
  d.source = file;
  d.text = wikitext2_join(read_text_file(file), limit_rows);
  return d;
}

Dataset read_text(const std::string& path, int64_t limit_lines) {
  Dataset d;
  d.name = "text";
  d.source = path;
  std::string raw = read_text_file(path);
  if (limit_lines <= 0) {
    d.text = std::move(raw);
  } else {
    size_t n = 0;
    for (std::string_view line : split_lines_keep_newline(raw)) {
      if (!keep_more(limit_lines, n++)) break;
      d.text += line;
    }
  }
  return d;
}

Dataset read_advbench(const std::string& path, int64_t limit) {
  CsvTable t = read_csv(path);
  size_t goal = t.column("goal"), target = t.column("target");
  Dataset d;
  d.name = "advbench";
  d.source = path;
  for (size_t r = 0; r < t.rows.size() && keep_more(limit, d.examples.size()); ++r) {
    Example e;
    e.id = std::to_string(r);
    e.prompt = require_prompt(t.rows[r][goal], path, t.lines[r]);
    e.reference = t.rows[r][target];
    e.language = "en";
    d.examples.push_back(std::move(e));
  }
  return d;
}

Dataset read_xstest(const std::string& path, int64_t limit) {
  CsvTable t = read_csv(path);
  size_t id = t.column("id"), prompt = t.column("prompt"), type = t.column("type"), label = t.column("label");
  Dataset d;
  d.name = "xstest";
  d.source = path;
  for (size_t r = 0; r < t.rows.size() && keep_more(limit, d.examples.size()); ++r) {
    const auto& row = t.rows[r];
    if (row[label] != "safe" && row[label] != "unsafe")
      throw UsageError(located(path, t.lines[r], 0, "label '" + row[label] + "' is neither safe nor unsafe"));
    Example e;
    e.id = row[id];
    e.prompt = require_prompt(row[prompt], path, t.lines[r]);
    e.reference = row[type];
    e.label = row[label];
    e.language = "en";
    d.examples.push_back(std::move(e));
  }
  return d;
}

Dataset read_parallel_text(const std::string& source, const std::string& target,
                           const std::string& source_language, const std::string& target_language,
                           int64_t limit) {
  std::string src_lang = require_language(source_language, source, 0);
  std::string tgt_lang = require_language(target_language, target, 0);
  std::string a = read_text_file(source), b = read_text_file(target);
  auto la = split_lines_keep_newline(a), lb = split_lines_keep_newline(b);
  if (la.size() != lb.size())
    throw UsageError(source + ": " + std::to_string(la.size()) + " lines, but " + target + " has " +
                     std::to_string(lb.size()) + " (parallel files must align line by line)");
  Dataset d;
  d.name = "parallel_text";
  d.source = source;
  for (size_t i = 0; i < la.size() && keep_more(limit, d.examples.size()); ++i) {
    Example e;
    e.id = std::to_string(i);
    e.prompt = require_prompt(std::string(strip_newline(la[i])), source, static_cast<int>(i + 1));
    e.reference = require_prompt(std::string(strip_newline(lb[i])), target, static_cast<int>(i + 1));
    e.language = src_lang;
    e.label = tgt_lang;
    d.examples.push_back(std::move(e));
  }
  return d;
}

}  // namespace qlab
