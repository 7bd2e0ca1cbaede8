#include "core/report_html.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/report_page_script.h"
#include "core/run_env.h"

namespace qlab {
namespace {


// JSON inside <script>: no "<" at all, so neither "</script>" nor "<!--" can
// end or confuse the element ("<" occurs only in strings, where \u003c is the
// same character).
std::string script_json(const nlohmann::json& j) {
  std::string text = j.dump(), out;
  for (char c : text) out += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return out;
}

const char* const kStyle = R"CSS(
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { margin-bottom: 0.2em; }
dl.about { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.about dt { font-weight: bold; }
dl.about dd { margin: 0; font-family: monospace; }
.table-box { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.footnote { font-size: 0.9em; color: #555; }
#plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
figure.plot { margin: 0; border: 1px solid #ddd; padding: 0.5em; }
.canvas-box { position: relative; height: 340px; }
#qlab-status { color: #b00; font-weight: bold; }
footer { margin-top: 2em; font-size: 0.85em; color: #555; }
)CSS";

}  // namespace

std::string read_chart_js(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty())
    throw UsageError(path + ": cannot read Chart.js, which HTML reports inline (apt-get install libjs-chart.js, or "
                            "tools/install_deps.sh)");
  if (text.str().find("</script") != std::string::npos)
    throw UsageError(path + ": contains '</script', so it cannot be inlined into a page");
  return text.str();
}

std::string html_report(const std::vector<RunRecord>& runs, const ReportSpec& spec,
                        const std::vector<PlotRequest>& requests, const std::vector<std::string>& sources,
                        const std::string& chart_js) {
  std::string from;
  for (const auto& f : sources) from += (from.empty() ? "" : ", ") + f;
  const ReportRuns selected = select_runs(runs, spec.where);
  if (selected.all.empty()) throw UsageError(from + ": no runs, nothing to report");
  if (selected.complete.empty()) {
    if (spec.where.empty())
      throw UsageError(from + ": only failed runs (" + std::to_string(selected.failed_excluded) + "), nothing to report");
    throw UsageError(from + ": no complete run matches --where");
  }
  ReportSpec table_spec = spec;
  table_spec.format = ReportFormat::Html;
  const Report table = make_report(runs, table_spec);
  const nlohmann::json plots = choose_plots(selected.complete, spec, requests);

  std::set<std::string> studies, machines, versions, commits;
  std::string first_start, last_end;
  for (const RunRecord* r : selected.complete) {
    studies.insert(r->study);
    machines.insert(r->host + " (" + r->device + ")");
    versions.insert(r->qlab_version);
    commits.insert(r->git_commit);
    if (first_start.empty() || r->start_time < first_start) first_start = r->start_time;
    if (r->end_time > last_end) last_end = r->end_time;
  }
  const std::string title = name_list(studies);

  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>qlab report: " +
                     html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  page += "<div id=\"qlab-status\" data-state=\"pending\" data-errors=\"0\" hidden></div>\n";
  page += "<script>" + std::string(kReportErrorHooks) + "</script>\n";
  page += "<h1>" + html_escape(title) + "</h1>\n<dl class=\"about\">\n";
  auto about = [&](const std::string& term, const std::string& value) {
    page += "<dt>" + html_escape(term) + "</dt><dd>" + html_escape(value) + "</dd>\n";
  };
  about("runs", std::to_string(selected.complete.size()) + " complete" +
                    (selected.failed_excluded ? ", " + std::to_string(selected.failed_excluded) + " failed (left out)" : ""));
  about("date", first_start + " to " + last_end);
  about("machine", name_list(machines));
  about("qlab version", name_list(versions));
  about("commit", name_list(commits));
  about("results", from);
  page += "</dl>\n<h2>Table</h2>\n<div class=\"table-box\">\n" + table.text + "</div>\n";
  page += "<h2>Plots</h2>\n<p class=\"footnote\">Every point is one run (seeds apart); a dash is the mean of a "
          "series at a category.</p>\n<div id=\"plots\"></div>\n";
  page += "<footer>Written by qlab " + html_escape(qlab_version()) + " (commit " + html_escape(git_commit()) + ") at " +
          now_iso8601_utc() + "; plots drawn by Chart.js (Debian's libjs-chart.js, inlined).</footer>\n";
  page += "<script>\n" + chart_js + "\n</script>\n";
  page += "<script type=\"application/json\" id=\"qlab-plots\">" + script_json(plots) + "</script>\n";
  page += "<script>" + std::string(kReportPlotScript) + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace qlab
