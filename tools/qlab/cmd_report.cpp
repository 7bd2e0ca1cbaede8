// `qlab report FILE... --rows KEYS --cols METRICS`: tables from results files
// (several shards read as one study), in Markdown, LaTeX or CSV, or a
// self-contained HTML page with the table and plots (core/report_html.h).
#include <boost/program_options.hpp>
#include <iostream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fingerprint.h"
#include "core/report.h"
#include "core/report_html.h"
#include "core/store.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;

namespace qlab::cli {
namespace {

const char* const kHelpTail = R"(
Rows are sweep axis names or dotted paths into each run's resolved config
(method, model.path, method.1.gptq.w_bits); runs that agree on all of them
(different seeds) share a row and show mean ± sample std; runs that differ in
anything else split the row by the keys they differ in (named under the
table). Columns are metric names (perplexity.ppl). A missing metric shows as
—, failed runs are left out and counted under the table. Runs made from inputs
(checkpoint or data files) that have changed on disk since are stale: they are
left out and named on stderr (--stale keeps them).

--format html writes one self-contained page (it opens offline): the table and
plots chosen from the metrics present (perplexity per method across precisions,
safety against perplexity, training curves, N-Mix and pass rates per
language), every run its own point; --plot adds one (docs/report.md).
)";


int report_main(const std::vector<std::string>& args) {
  std::vector<std::string> files, wheres, plots;
  std::string rows, cols, pivot, replicates, format = "md", out;
  po::options_description visible("usage: qlab report FILE... [options]");
  visible.add_options()
      ("help,h", "show this help")
      ("rows", po::value(&rows), "comma-separated row keys (default: every sweep axis but the seed)")
      ("cols", po::value(&cols), "comma-separated metrics (default: every metric)")
      ("pivot", po::value(&pivot), "a key whose values become column groups, e.g. tags.precision (paper tables)")
      ("where", po::value(&wheres)->composing(), "key=value: keep only runs showing this value; repeatable")
      ("replicate", po::value(&replicates),
       "comma-separated config keys whose values count as replicates, as seeds do (e.g. model.path over "
       "models trained from different seeds): runs differing only in them share a row")
      ("format", po::value(&format), "md, latex, csv or html (default md)")
      ("out", po::value(&out), "write to this file (whole or not at all) instead of stdout")
      ("plot", po::value(&plots)->composing(),
       "html: x=METRIC|KEY,y=METRIC[,color=KEY]: one more plot; repeatable")
      ("stale", "keep runs whose inputs have changed since they ran (named on stderr either way)");
  po::options_description all;
  all.add(visible).add_options()("files", po::value(&files));
  po::positional_options_description positional;
  positional.add("files", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (qlab report --help)");
  }
  if (vm.count("help")) {
    std::cout << visible << kHelpTail;
    return kExitOk;
  }
  if (files.empty()) throw UsageError("missing the results file(s) (qlab report --help)");

  ReportSpec spec;
  spec.rows = cli::comma_list(rows);
  spec.cols = cli::comma_list(cols);
  spec.pivot = pivot;
  spec.replicates = cli::comma_list(replicates);
  spec.format = parse_report_format(format);
  std::vector<PlotRequest> requests;
  for (const auto& p : plots) requests.push_back(parse_plot_request(p));
  if (!requests.empty() && spec.format != ReportFormat::Html) throw UsageError("--plot: only with --format html");
  // Read before the results, so a missing library fails at once.
  const std::string chart_js = spec.format == ReportFormat::Html ? read_chart_js() : "";
  for (const auto& w : wheres) {
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--where: expected key=value, got '" + w + "'");
    spec.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  std::vector<RunRecord> runs;
  const bool keep_stale = vm.count("stale") > 0;
  for (const auto& f : files)
    for (RunRecord& r : read_runs(f)) {
      std::string changed = changed_inputs(parse_inputs_json(r.inputs), FingerprintCache::shared());
      if (!changed.empty())
        std::cerr << "qlab report: " << f << ": run " << r.hash << " is stale (" << changed << " since it ran)"
                  << (keep_stale ? "" : "; left out") << "\n";
      if (changed.empty() || keep_stale) runs.push_back(std::move(r));
    }
  std::string text;
  if (spec.format == ReportFormat::Html) {
    text = html_report(runs, spec, requests, files, chart_js);
  } else {
    Report report = make_report(runs, spec);
    text = report.text;
    if (spec.format == ReportFormat::Csv && !report.footnote.empty())   // CSV has no room for a footnote
      std::cerr << "qlab report: " << report.footnote << "\n";
  }
  if (out.empty()) {
    std::cout << text;
  } else {
    write_file_atomically(out, text);
    std::cerr << "qlab report: wrote " << out << "\n";
  }
  return kExitOk;
}

}  // namespace

QLAB_COMMAND(report, "report", "tables (md, latex, csv) or an HTML page with plots from results files", report_main);

}  // namespace qlab::cli
