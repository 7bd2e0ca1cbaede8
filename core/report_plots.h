// The plots of an HTML report (core/report_html.h), chosen from what its runs
// hold, as JSON data for the page's script to draw. Every run is its own mark,
// so seeds show as spread, never only as a mean.
//
//   *.ppl                      per method across precisions (x: --pivot, else
//                              tags.precision, else none), means joined by a line
//   *.refusal_rate, *.safe_rate, *.acc of a label with "safety" in it
//                              against the first *.ppl, one point per run
//   arrays P.loss (+ P.* of the same length: AAQ's pull and push)
//                              per step, one line per run
//   L.nmix.<lang>              N-Mix per language; L.line_pass_rate and
//                              L.word_pass_rate per language where L scored
//                              one language only
//   --plot x=METRIC|KEY,y=METRIC[,color=KEY]
//                              a scatter (x a metric) or per-category plot (x a key)
//
// Marks are coloured by series: the values of the table's row keys (--rows,
// default every sweep axis but the seed), so a series is a row of the table;
// across precisions, all but the x key and the keys that only rename it
// (`method` in the default study; not a zip partner of the precision).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/report.h"

namespace qlab {

struct PlotRequest {   // --plot x=...,y=...[,color=...]
  std::string x, y, color;
};
// Throws UsageError "--plot: expected x=METRIC,y=METRIC[,color=KEY], got '...'".
PlotRequest parse_plot_request(const std::string& text);

// One JSON object per plot, in the order above, then the requests':
//   {id, kind: "category"|"scatter"|"curve", title, x_label, y_label,
//    categories (category), connect (category: join the means),
//    series: [{label, points: [{x, y, run}], means: [{x, y}] (category),
//              curves: [{run, y: [...]}] (curve)}]}
// A category point's x is its category's index. Throws UsageError "--plot:
// no run has metric 'M' (metrics: ...)" or "--plot: no run has 'KEY' ..."
// for a request naming what no run has.
nlohmann::json choose_plots(const std::vector<const RunRecord*>& runs, const ReportSpec& spec,
                            const std::vector<PlotRequest>& requests);

}  // namespace qlab
