#include "core/report.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"

namespace qlab {
namespace {

const char* const kMissingText = "—";   // markdown; LaTeX shows "---", CSV an empty cell

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) parts.push_back(part);
  return parts;
}

bool parse_double(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// A config node as a table cell: scalars as written; a pipeline (a list of
// one-key maps) as its plugin names joined with "+"; anything else as flow YAML.
std::string show(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "";
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence() && node.size() > 0) {
    std::string names;
    bool pipeline = true;
    for (const auto& step : node) {
      if (!step.IsMap() || step.size() != 1) {
        pipeline = false;
        break;
      }
      names += (names.empty() ? "" : "+") + step.begin()->first.Scalar();
    }
    if (pipeline) return names;
  }
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

// Walks with reset(): assigning one YAML::Node to another would overwrite the
// config itself rather than move the cursor.
// `n`'s entry `part` (a map key, or a sequence index); undefined when absent.
// Const access, so a lookup never inserts into the config.
YAML::Node child(const YAML::Node& n, const std::string& part) {
  if (n.IsMap()) return n[part];
  if (n.IsSequence()) {
    char* end = nullptr;
    unsigned long i = std::strtoul(part.c_str(), &end, 10);
    if (!part.empty() && *end == '\0' && i < n.size()) return n[i];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string config_value(const YAML::Node& config, const std::string& key) {
  YAML::Node node = config;   // copy construction: a handle, not a copy of the tree
  for (const auto& part : split(key, '.')) {
    YAML::Node next = child(node, part);
    if (!next.IsDefined()) return "";
    // reset(), not `node = next`: assigning one YAML::Node to another writes
    // through to the tree the first one points at.
    node.reset(next);
  }
  return show(node);
}

// A run with its config parsed once.
struct Loaded {
  const RunRecord* run;
  YAML::Node config;
};

std::string value_of(const Loaded& l, const std::string& key) {
  auto it = l.run->axes.find(key);
  if (it != l.run->axes.end()) return it->second;
  std::string v = config_value(l.config, key);
  if (v.empty() && key == "seed") return std::to_string(l.run->seed);
  return v;
}

// What a table shows for a key: the value, except that the empty pipeline is
// named by the precision it runs in (fp32, bf16, fp16 from model.dtype).
std::string shown_value(const Loaded& l, const std::string& key) {
  std::string v = value_of(l, key);
  if (key != "method" || v != "none") return v;
  std::string dtype = config_value(l.config, "model.dtype");
  if (dtype == "bfloat16") return "bf16";
  if (dtype == "float16") return "fp16";
  return "fp32";
}

// Every scalar of a config by its dotted path (sequence elements by index).
void flatten(const YAML::Node& n, const std::string& path, std::map<std::string, std::string>& out) {
  if (n.IsMap()) {
    for (const auto& kv : n) flatten(kv.second, (path.empty() ? "" : path + ".") + kv.first.Scalar(), out);
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) flatten(n[i], path + "." + std::to_string(i), out);
    if (n.size() == 0) out[path] = "[]";
  } else if (n.IsDefined() && !n.IsNull()) {
    out[path] = n.Scalar();
  } else {
    out[path] = "";
  }
}

// The keys in which two runs' configs differ, other than the seed, each named
// by the most specific sweep axis that holds it and tells the two apart
// (`method.1.rtn.a_sym` under the axis `method.1.rtn.a_sym`, or under
// `method` when the pipelines differ), else by its own path.
std::set<std::string> differing_keys(const Loaded& a, const Loaded& b, const std::set<std::string>& axes,
                                     const std::vector<std::string>& replicates) {
  std::map<std::string, std::string> fa, fb;
  flatten(a.config, "", fa);
  flatten(b.config, "", fb);
  std::set<std::string> paths;
  for (const auto& [k, v] : fa)
    if (!fb.count(k) || fb.at(k) != v) paths.insert(k);
  for (const auto& [k, v] : fb)
    if (!fa.count(k)) paths.insert(k);
  std::set<std::string> out;
  for (const auto& p : paths) {
    if (p == "seed") continue;
    if (std::any_of(replicates.begin(), replicates.end(), [&](const std::string& r) { return p == r || p.rfind(r + ".", 0) == 0; }))
      continue;
    std::string name = p;
    size_t best = 0;
    for (const auto& axis : axes)
      if ((p == axis || p.rfind(axis + ".", 0) == 0) && axis.size() > best && value_of(a, axis) != value_of(b, axis))
        name = axis, best = axis.size();
    out.insert(name);
  }
  return out;
}

bool same_value(const std::string& a, const std::string& b) {
  double x, y;
  return a == b || (parse_double(a, x) && parse_double(b, y) && x == y);
}


bool is_integral(double x) { return std::isfinite(x) && std::fabs(x) < 1e15 && std::floor(x) == x; }

Loaded load(const RunRecord& r) {
  Loaded l{&r, YAML::Node()};
  try {
    l.config = YAML::Load(r.config);
  } catch (const YAML::Exception&) {   // a record without a parsable config shows "" for config keys
  }
  return l;
}

UsageError no_key_error(const std::string& flag, const std::string& key, const std::set<std::string>& axes) {
  return UsageError(flag + ": no run has '" + key + "' (axes: " + name_list(axes) + "; or a dotted config path)");
}

std::set<std::string> axes_of(const std::vector<const RunRecord*>& runs) {
  std::set<std::string> axes;
  for (const RunRecord* r : runs)
    for (const auto& [k, v] : r->axes) axes.insert(k);
  return axes;
}

bool keep(const Loaded& l, const std::vector<std::pair<std::string, std::string>>& where) {
  return std::all_of(where.begin(), where.end(), [&](const auto& w) {
    return same_value(value_of(l, w.first), w.second) || same_value(shown_value(l, w.first), w.second);
  });
}

std::string shortest(double v) {   // round-trips exactly, for CSV
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\textbackslash{}"; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '&': case '%': case '$': case '#': case '_': case '{': case '}':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// An integer metric (every run's value whole: windows, tokens, n) prints
// whole numbers without decimals (6, not 6.000).
std::string cell_text(const Summary& c, bool integer_metric, ReportFormat f) {
  if (c.n == 0) return f == ReportFormat::Latex ? "---" : kMissingText;
  int d = display_decimals(c.mean);
  std::string mean = format_number(c.mean, integer_metric && is_integral(c.mean) ? 0 : d);
  if (c.n == 1) return f == ReportFormat::Latex ? "$" + mean + "$" : mean;
  std::string sd = format_number(c.std, integer_metric && is_integral(c.std) ? 0 : d);
  return f == ReportFormat::Latex ? "$" + mean + " \\pm " + sd + "$" : mean + " ± " + sd;
}

}  // namespace

ReportFormat parse_report_format(const std::string& text) {
  if (text == "md") return ReportFormat::Markdown;
  if (text == "latex") return ReportFormat::Latex;
  if (text == "csv") return ReportFormat::Csv;
  if (text == "html") return ReportFormat::Html;
  throw UsageError("--format: expected md, latex, csv or html, got '" + text + "'");
}

int display_decimals(double value) {
  if (value == 0 || !std::isfinite(value)) return 4;
  int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  return std::clamp(3 - magnitude, 0, 6);
}

std::string format_number(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string row_value(const RunRecord& run, const std::string& key) { return value_of(load(run), key); }

std::string shown_row_value(const RunRecord& run, const std::string& key) { return shown_value(load(run), key); }

Summary summarize(const std::vector<double>& xs) {
  Summary c;
  c.n = xs.size();
  if (c.n == 0) return c;
  for (double x : xs) c.mean += x;
  c.mean /= c.n;
  if (c.n > 1) {
    double ss = 0;
    for (double x : xs) ss += (x - c.mean) * (x - c.mean);
    c.std = std::sqrt(ss / (c.n - 1));
  }
  return c;
}

std::string name_list(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

ReportRuns select_runs(const std::vector<RunRecord>& runs,
                       const std::vector<std::pair<std::string, std::string>>& where) {
  std::map<std::string, const RunRecord*> by_hash;
  for (const auto& r : runs) {
    auto [it, added] = by_hash.emplace(r.hash, &r);
    if (!added && r.status == "complete") it->second = &r;
  }
  ReportRuns out;
  for (const auto& [hash, r] : by_hash) out.all.push_back(r);
  for (const auto& [k, v] : where) require_key(out.all, "--where", k);
  for (const RunRecord* r : out.all) {
    if (!keep(load(*r), where)) continue;
    if (r->status != "complete") ++out.failed_excluded;
    else out.complete.push_back(r);
  }
  return out;
}

std::vector<std::string> default_rows(const std::vector<const RunRecord*>& runs) {
  std::vector<std::string> rows;
  for (const auto& a : axes_of(runs))
    if (a != "seed" && a != "seeds") rows.push_back(a);
  return rows;
}

void require_key(const std::vector<const RunRecord*>& runs, const std::string& flag, const std::string& key) {
  if (std::none_of(runs.begin(), runs.end(), [&](const RunRecord* r) { return !row_value(*r, key).empty(); }))
    throw no_key_error(flag, key, axes_of(runs));
}

Report make_report(const std::vector<RunRecord>& runs, const ReportSpec& spec) {
  const ReportRuns selected = select_runs(runs, spec.where);
  std::vector<Loaded> all;
  for (const RunRecord* r : selected.all) all.push_back(load(*r));

  std::set<std::string> metrics;
  for (const auto& l : all)
    for (const auto& [k, v] : l.run->output.metrics) metrics.insert(k);
  const std::set<std::string> axes = axes_of(selected.all);
  std::vector<std::string> rows = spec.rows.empty() ? default_rows(selected.all) : spec.rows, cols = spec.cols;
  if (cols.empty()) cols.assign(metrics.begin(), metrics.end());
  for (const auto& k : rows) require_key(selected.all, "--rows", k);
  for (const auto& k : spec.replicates) require_key(selected.all, "--replicate", k);
  for (const auto& m : cols)
    if (!metrics.count(m)) throw UsageError("--cols: no run has metric '" + m + "' (metrics: " + name_list(metrics) + ")");
  if (!spec.pivot.empty()) {
    require_key(selected.all, "--pivot", spec.pivot);
    rows.erase(std::remove(rows.begin(), rows.end(), spec.pivot), rows.end());
  }

  // Group the complete runs by their row values. Rows keep the study's
  // order: each group sorts by the smallest run index it holds.
  Report report;
  report.failed_excluded = selected.failed_excluded;
  struct Member {
    const Loaded* run;
    std::string pivot_value;   // "" without --pivot
  };
  struct Group {
    int64_t first_index;
    std::vector<Member> runs;
  };
  std::vector<const Loaded*> kept;
  for (const auto& l : all)
    if (std::find(selected.complete.begin(), selected.complete.end(), l.run) != selected.complete.end())
      kept.push_back(&l);
  std::map<std::vector<std::string>, Group> groups;
  auto group_runs = [&] {
    groups.clear();
    for (const Loaded* l : kept) {
      std::vector<std::string> key;
      for (const auto& k : rows) key.push_back(shown_value(*l, k));
      auto [it, added] = groups.emplace(key, Group{l->run->index, {}});
      it->second.first_index = std::min(it->second.first_index, l->run->index);
      it->second.runs.push_back({l, spec.pivot.empty() ? "" : shown_value(*l, spec.pivot)});
    }
  };
  group_runs();
  // A cell averages seeds of one configuration only: runs of a cell that
  // differ in anything else split the rows by the keys they differ in.
  std::set<std::string> differing;
  for (const auto& [key, g] : groups)
    for (const Member& m : g.runs)
      for (const Member& first : g.runs)
        if (first.pivot_value == m.pivot_value) {
          for (const auto& k : differing_keys(*first.run, *m.run, axes, spec.replicates)) differing.insert(k);
          break;
        }
  for (const auto& k : differing)
    if (std::find(rows.begin(), rows.end(), k) == rows.end()) rows.push_back(k), report.split_by.push_back(k);
  if (!report.split_by.empty()) group_runs();

  std::vector<std::pair<int64_t, std::string>> pivot_values;   // (first run index, value)
  for (const Loaded* l : kept) {
    if (spec.pivot.empty()) break;
    const std::string v = shown_value(*l, spec.pivot);
    auto seen = std::find_if(pivot_values.begin(), pivot_values.end(), [&](const auto& p) { return p.second == v; });
    if (seen == pivot_values.end()) pivot_values.emplace_back(l->run->index, v);
    else seen->first = std::min(seen->first, l->run->index);
  }
  std::stable_sort(pivot_values.begin(), pivot_values.end());
  // The table's value columns: (pivot value, metric); the value is "" without --pivot.
  struct Column {
    std::string pivot_value, metric, title;
  };
  std::vector<Column> columns;
  if (spec.pivot.empty()) {
    for (const auto& m : cols) columns.push_back({"", m, m});
  } else {
    for (const auto& [index, v] : pivot_values)
      for (const auto& m : cols) columns.push_back({v, m, cols.size() == 1 ? v : v + " " + m});
  }
  std::vector<std::pair<std::vector<std::string>, const Group*>> ordered;
  for (const auto& [key, g] : groups) ordered.emplace_back(key, &g);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.second->first_index < b.second->first_index; });

  std::set<std::string> integer_metrics;
  for (const auto& m : cols)
    if (std::all_of(all.begin(), all.end(), [&](const Loaded& l) {
          auto it = l.run->output.metrics.find(m);
          return it == l.run->output.metrics.end() || is_integral(it->second);
        }))
      integer_metrics.insert(m);

  // Table cells, as text, header first.
  const ReportFormat f = spec.format;
  std::vector<std::string> header = rows;
  if (f == ReportFormat::Csv) header.push_back("runs");
  for (const auto& c : columns) {
    header.push_back(c.title);
    if (f == ReportFormat::Csv) header.push_back(c.title + ".std");
  }
  std::vector<std::vector<std::string>> body;
  for (const auto& [key, g] : ordered) {
    std::vector<std::string> line = key;
    if (f == ReportFormat::Csv) line.push_back(std::to_string(g->runs.size()));
    for (const auto& col : columns) {
      std::vector<double> xs;
      for (const Member& m : g->runs) {
        if (m.pivot_value != col.pivot_value) continue;
        auto it = m.run->run->output.metrics.find(col.metric);
        if (it != m.run->run->output.metrics.end()) xs.push_back(it->second);
      }
      Summary c = summarize(xs);
      if (f == ReportFormat::Csv) {
        line.push_back(c.n ? shortest(c.mean) : "");
        line.push_back(c.n > 1 ? shortest(c.std) : "");
      } else {
        line.push_back(cell_text(c, integer_metrics.count(col.metric) > 0, f));
      }
    }
    body.push_back(line);
  }

  std::string& footnote = report.footnote;
  if (report.failed_excluded > 0)
    footnote = std::to_string(report.failed_excluded) + " failed run" + (report.failed_excluded == 1 ? "" : "s") + " excluded";
  if (!report.split_by.empty()) {
    std::string keys;
    for (const auto& k : report.split_by) keys += (keys.empty() ? "" : ", ") + k;
    footnote += (footnote.empty() ? "" : "; ") + std::string("rows split by ") + keys +
                ": runs of one row differed in more than the seed";
  }

  std::string& out = report.text;
  if (f == ReportFormat::Csv) {
    auto emit = [&](const std::vector<std::string>& line) {
      for (size_t i = 0; i < line.size(); ++i) out += (i ? "," : "") + csv_field(line[i]);
      out += "\n";
    };
    emit(header);
    for (const auto& line : body) emit(line);
  } else if (f == ReportFormat::Markdown) {
    auto emit = [&](const std::vector<std::string>& line) {
      out += "|";
      for (const auto& c : line) out += " " + c + " |";
      out += "\n";
    };
    emit(header);
    out += "|";
    for (size_t i = 0; i < header.size(); ++i) out += i < rows.size() ? " --- |" : " ---: |";
    out += "\n";
    for (const auto& line : body) emit(line);
    if (!footnote.empty()) out += "\n" + footnote + ".\n";
  } else if (f == ReportFormat::Html) {
    auto emit = [&](const std::vector<std::string>& line, const char* cell) {
      out += "<tr>";
      for (size_t i = 0; i < line.size(); ++i)
        out += std::string("<") + cell + (i < rows.size() ? "" : " class=\"num\"") + ">" + html_escape(line[i]) +
               "</" + cell + ">";
      out += "</tr>\n";
    };
    out += "<table>\n<thead>";
    emit(header, "th");
    out += "</thead>\n<tbody>\n";
    for (const auto& line : body) emit(line, "td");
    out += "</tbody>\n</table>\n";
    if (!footnote.empty()) out += "<p class=\"footnote\">" + html_escape(footnote) + ".</p>\n";
  } else {
    out += "\\begin{tabular}{" + std::string(rows.size(), 'l') + std::string(columns.size(), 'r') + "}\n\\toprule\n";
    auto emit = [&](const std::vector<std::string>& line, bool escape) {
      for (size_t i = 0; i < line.size(); ++i)
        out += (i ? " & " : "") + (escape || i < rows.size() ? latex_escape(line[i]) : line[i]);
      out += " \\\\\n";
    };
    emit(header, true);
    out += "\\midrule\n";
    for (const auto& line : body) emit(line, false);
    out += "\\bottomrule\n\\end{tabular}\n";
    if (!footnote.empty()) out += "% " + footnote + "\n";
  }
  return report;
}

}  // namespace qlab
