// Tables from results files: one row per distinct value of the row keys, one
// column per metric, mean ± sample std over the runs that share a row (seeds).
//
//   qlab report results/a.h5 --rows method,method.1.gptq.w_bits --cols perplexity.ppl
//
// A row key is a sweep axis name or a dotted path into the resolved config
// (`model.path`, `method.1.gptq.w_bits`; `method` alone shows the pipeline as
// "quarot+gptq"; the empty pipeline as its precision, fp32/bf16/fp16). Failed
// runs are left out and counted in a footnote. Only seeds are averaged: when
// the runs of a cell differ in any other config key, the rows are split by
// those keys (named in the footnote), unless they are named replicates.
// --pivot KEY spreads KEY's values over the columns instead of the rows.
// The HTML page around an Html table, with its plots, is core/report_html.h.
#pragma once
#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/store.h"

namespace qlab {

enum class ReportFormat { Markdown, Latex, Csv, Html };
ReportFormat parse_report_format(const std::string& text);   // "md", "latex", "csv", "html"; else UsageError

struct ReportSpec {
  std::vector<std::string> rows;    // empty: every sweep axis of the runs
  std::vector<std::string> cols;    // empty: every metric of the runs
  // Optional key whose values become column groups, in study order: a
  // paper table's settings side by side (`--rows method --pivot
  // tags.precision`). Each cell then aggregates the runs of its row that show
  // that value. Headers: the value, or "value metric" with several metrics.
  std::string pivot;
  std::vector<std::pair<std::string, std::string>> where;   // keep runs whose key shows this value
  // Config keys (dotted paths; a key covers what lies under it) whose values
  // count as replicates, as seeds do: runs differing only in them and the seed
  // share a cell (e.g. model.path over models trained from different seeds).
  std::vector<std::string> replicates;
  ReportFormat format = ReportFormat::Markdown;
};

// The value a run shows for a row key, or "" when it has none.
std::string row_value(const RunRecord& run, const std::string& key);
// The same as a table shows it: the empty pipeline named by its precision
// (`method` "none" as fp32, bf16 or fp16).
std::string shown_row_value(const RunRecord& run, const std::string& key);

// The runs a report covers: one record per hash (a shard read twice counts
// once; a complete record wins over a failed one), then those matching every
// --where pair (numbers compared by value). Throws UsageError "--where: ..."
// for a key no run has.
struct ReportRuns {
  std::vector<const RunRecord*> all;        // one per hash, in hash order, before --where
  std::vector<const RunRecord*> complete;   // matching --where and complete
  size_t failed_excluded = 0;               // matching --where and failed
};
ReportRuns select_runs(const std::vector<RunRecord>& runs,
                       const std::vector<std::pair<std::string, std::string>>& where);

// The default row keys: every sweep axis of the runs but the seed.
std::vector<std::string> default_rows(const std::vector<const RunRecord*>& runs);
// Throws UsageError "FLAG: no run has 'KEY' (axes: ...; or a dotted config
// path)" unless some run shows a value for KEY.
void require_key(const std::vector<const RunRecord*>& runs, const std::string& flag, const std::string& key);

// Mean and sample standard deviation (n - 1; 0 when n == 1) of one cell.
struct Summary {
  size_t n = 0;
  double mean = 0, std = 0;
};
Summary summarize(const std::vector<double>& xs);

struct Report {
  std::string text;            // the table; md and latex end with the footnote
  size_t failed_excluded = 0;  // failed runs matching --where, left out
  // Keys added to the rows because runs sharing a cell differed in them (not
  // only in the seed); named in the footnote.
  std::vector<std::string> split_by;
  std::string footnote;        // both of the above in words ("" when neither); under md, latex and html tables
};

// Builds the table. Runs with the same hash (a shard read twice) count once.
// Throws UsageError "--rows: ..." / "--cols: ..." / "--where: ..." for keys
// no run has, so a misspelling does not yield an empty-looking table.
Report make_report(const std::vector<RunRecord>& runs, const ReportSpec& spec);

// Number shown in tables: four significant digits, no exponent (5.472, 123.5, 0.8000).
std::string format_number(double value, int decimals);
int display_decimals(double value);

// Names for a message: "a, b, c", or "(none)".
std::string name_list(const std::set<std::string>& names);

// Text for HTML: &, <, >, " and ' as entities.
std::string html_escape(const std::string& text);

}  // namespace qlab
