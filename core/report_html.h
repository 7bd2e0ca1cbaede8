// `qlab report --format html`: one self-contained page (it opens offline, from
// a file: URL) holding where the runs came from (study, dates, machines, qlab
// versions and commits), the table of core/report.h and the plots of
// core/report_plots.h, drawn in the browser by Chart.js. The library is read
// from Debian's libjs-chart.js when the report is written and inlined into the
// page; docs/report.md says why Chart.js.
//
// The page records what it drew, for tests and for anyone curious: each plot
// is a <figure id="plot-N" data-points data-means data-lines> with the counts
// of marks Chart.js laid out, and <div id="qlab-status" data-state="done"
// data-errors="N"> counts script errors (their messages shown there).
#pragma once
#include <string>
#include <vector>

#include "core/report_plots.h"

namespace qlab {

constexpr const char* kChartJsPath = "/usr/share/javascript/chart.js/chart.min.js";

// The library's text. Throws UsageError "PATH: ... (apt-get install
// libjs-chart.js, or tools/install_deps.sh)" when it cannot be read.
std::string read_chart_js(const std::string& path = kChartJsPath);

// The page. `sources` names the results files (shown on the page). Throws
// UsageError, before anything is written, for: no runs ("SOURCES: no runs"),
// only failed runs, no complete run matching --where, and whatever
// make_report and choose_plots reject.
std::string html_report(const std::vector<RunRecord>& runs, const ReportSpec& spec,
                        const std::vector<PlotRequest>& requests, const std::vector<std::string>& sources,
                        const std::string& chart_js);

}  // namespace qlab
