// HTML reports from hand-built runs: which plots appear for which metrics and
// arrays, their marks (one per run) and means, --plot requests and their
// errors, the page's content and the bad input that writes nothing. The page
// in a real browser is tests/cli/report_html_test.cpp.
#include "core/report_html.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

using namespace qlab;
using nlohmann::json;

namespace {

using test::usage_error_of;

// A run of `method` ("none" for the empty pipeline) at a precision tag.
RunRecord run(const std::string& hash, int64_t index, const std::string& method, const std::string& precision,
              int seed, std::map<std::string, double> metrics) {
  RunRecord r;
  r.hash = hash;
  r.index = index;
  r.seed = seed;
  r.status = "complete";
  r.study = "study_one";
  r.host = "hostA";
  r.device = "cpu";
  r.qlab_version = "9.8.7";
  r.git_commit = "abc123def";
  r.start_time = "2026-01-0" + std::to_string(1 + index % 9) + "T00:00:00Z";
  r.end_time = "2026-01-0" + std::to_string(1 + index % 9) + "T01:00:00Z";
  std::string pipeline = method == "none" ? "[]" : "\n  - " + method + ": {}";
  r.config = "model: {path: m, dtype: float32}\nmethod: " + pipeline + "\ntags: {precision: " + precision +
             "}\nseed: " + std::to_string(seed) + "\n";
  r.axes = {{"method", method}, {"tags.precision", precision}, {"seed", std::to_string(seed)}};
  r.output.metrics = std::move(metrics);
  return r;
}

std::vector<const RunRecord*> pointers(const std::vector<RunRecord>& runs) {
  std::vector<const RunRecord*> out;
  for (const auto& r : runs) out.push_back(&r);
  return out;
}

std::vector<std::string> titles(const json& plots) {
  std::vector<std::string> out;
  for (const auto& p : plots) out.push_back(p["title"]);
  return out;
}

const json& plot_titled(const json& plots, const std::string& title) {
  for (const auto& p : plots)
    if (p["title"] == title) return p;
  static const json none;
  ADD_FAILURE() << "no plot '" << title << "'";
  return none;
}

size_t points_of(const json& plot) {
  size_t n = 0;
  for (const auto& s : plot["series"]) n += s["points"].size();
  return n;
}

}  // namespace

TEST(ReportPlots, ChosenFromTheMetricsAndArraysPresent) {
  std::vector<RunRecord> runs = {run("a", 0, "none", "W16", 0, {{"wiki.ppl", 5.0}}),
                                 run("b", 1, "rtn", "W4", 0, {{"wiki.ppl", 7.0}})};
  EXPECT_EQ(titles(choose_plots(pointers(runs), {}, {})), std::vector<std::string>{"wiki.ppl by tags.precision"});

  runs[0].output.metrics["harmful.refusal_rate"] = 1.0;
  runs[1].output.metrics["harmful.refusal_rate"] = 0.5;
  runs[1].output.metrics["safetybench.acc"] = 0.4;
  runs[1].output.metrics["mmlu.acc"] = 0.3;   // not a safety metric
  runs[1].output.arrays["aaq.loss"] = std::vector<double>{3, 2, 1};
  runs[1].output.arrays["aaq.pull"] = std::vector<double>{1, 1, 1};
  runs[1].output.arrays["aaq.push"] = std::vector<double>{2, 1, 0};
  runs[1].output.arrays["aaq.cache_key"] = std::vector<std::string>{"k"};   // not numbers
  runs[1].output.arrays["aaq.windows"] = std::vector<double>{1, 2};          // not one per step
  runs[0].output.metrics["mixed.nmix.en"] = 0.1;   // one label scoring two languages
  runs[0].output.metrics["mixed.nmix.es"] = 0.2;
  runs[0].output.metrics["mixed.line_pass_rate"] = 0.9;   // not per language
  runs[0].output.metrics["nmix_ru.nmix.ru"] = 0.3;
  runs[0].output.metrics["nmix_ru.line_pass_rate"] = 0.8;
  json plots = choose_plots(pointers(runs), {}, {});
  EXPECT_EQ(titles(plots), (std::vector<std::string>{"wiki.ppl by tags.precision",
                                                     "harmful.refusal_rate against wiki.ppl",
                                                     "safetybench.acc against wiki.ppl", "aaq.loss per step",
                                                     "aaq.pull per step", "aaq.push per step", "N-Mix per language",
                                                     "line_pass_rate per language"}));
  for (size_t i = 0; i < plots.size(); ++i) EXPECT_EQ(plots[i]["id"], "plot-" + std::to_string(i + 1));
  EXPECT_EQ(plot_titled(plots, "N-Mix per language")["categories"], json({"en", "es", "ru"}));
  EXPECT_EQ(plot_titled(plots, "line_pass_rate per language")["categories"], json({"ru"}));
  const json& curve = plot_titled(plots, "aaq.push per step");
  ASSERT_EQ(curve["series"].size(), 1u);
  EXPECT_EQ(curve["series"][0]["label"], "rtn · W4");
  EXPECT_EQ(curve["series"][0]["curves"][0]["y"], json({2, 1, 0}));
}

TEST(ReportPlots, EveryRunIsAPointWithMeansPerSeriesAndPrecision) {
  // fp32 at W16; rtn at W8 and W4; three seeds each, values chosen for easy means.
  std::vector<RunRecord> runs;
  const double fp[] = {1, 2, 3}, w8[] = {4, 5, 9}, w4[] = {10, 10, 13};
  for (int s = 0; s < 3; ++s) {
    runs.push_back(run("f" + std::to_string(s), s, "none", "W16", s, {{"wiki.ppl", fp[s]}}));
    runs.push_back(run("e" + std::to_string(s), 3 + s, "rtn", "W8", s, {{"wiki.ppl", w8[s]}}));
    runs.push_back(run("d" + std::to_string(s), 6 + s, "rtn", "W4", s, {{"wiki.ppl", w4[s]}}));
  }
  json plots = choose_plots(pointers(runs), {}, {});
  ASSERT_EQ(plots.size(), 1u);
  const json& p = plots[0];
  EXPECT_EQ(p["kind"], "category");
  EXPECT_TRUE(p["connect"].get<bool>());
  EXPECT_EQ(p["categories"], json({"W16", "W8", "W4"}));   // study order, not sorted
  ASSERT_EQ(p["series"].size(), 2u);
  EXPECT_EQ(p["series"][0]["label"], "fp32");   // the empty pipeline by its precision, as in tables
  EXPECT_EQ(p["series"][1]["label"], "rtn");
  EXPECT_EQ(points_of(p), 9u);
  EXPECT_EQ(p["series"][0]["means"], json::parse(R"([{"x": 0, "y": 2}])"));
  EXPECT_EQ(p["series"][1]["means"], json::parse(R"([{"x": 1, "y": 6}, {"x": 2, "y": 11}])"));

  // --pivot names the x key instead; without either the categories are the series.
  ReportSpec by_method;
  by_method.rows = {"method"};
  by_method.pivot = "method";
  EXPECT_EQ(choose_plots(pointers(runs), by_method, {})[0]["categories"], json({"fp32", "rtn"}));
  for (auto& r : runs) r.config.replace(r.config.find("tags"), 4, "tagz"), r.axes.erase("tags.precision");
  json plain = choose_plots(pointers(runs), {}, {});
  EXPECT_EQ(plain[0]["title"], "wiki.ppl");
  EXPECT_EQ(plain[0]["categories"], json({"fp32", "rtn"}));
  EXPECT_FALSE(plain[0]["connect"].get<bool>());
}

TEST(ReportPlots, AxesZippedWithThePrecisionDoNotSplitTheSeries) {
  std::vector<RunRecord> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(run(std::to_string(i), i, i % 2 ? "rtn" : "none", i < 2 ? "W8" : "W4", 0, {{"wiki.ppl", 1.5 + i}}));
    runs.back().axes["calib.size"] = i < 2 ? "128" : "64";   // zipped with the precision
  }
  json plots = choose_plots(pointers(runs), {}, {});
  std::vector<std::string> labels;
  for (const auto& s : plots[0]["series"]) labels.push_back(s["label"]);
  EXPECT_EQ(labels, (std::vector<std::string>{"fp32", "rtn"}));
  EXPECT_EQ(plots[0]["series"][1]["means"].size(), 2u);
}

TEST(ReportPlots, RequestsAddScattersAndCategoryPlots) {
  std::vector<RunRecord> runs = {run("a", 0, "none", "W16", 0, {{"x.ppl", 5.0}, {"y.score", 1.0}}),
                                 run("b", 1, "rtn", "W4", 0, {{"x.ppl", 7.0}, {"y.score", 2.0}})};
  json plots = choose_plots(pointers(runs), {}, {parse_plot_request("x=x.ppl,y=y.score,color=tags.precision"),
                                                 parse_plot_request("x=method,y=y.score")});
  ASSERT_EQ(plots.size(), 3u);
  EXPECT_EQ(plots[1]["kind"], "scatter");
  EXPECT_EQ(plots[1]["title"], "y.score against x.ppl");
  EXPECT_EQ(plots[1]["series"][0]["label"], "W16");
  EXPECT_EQ(plots[1]["series"][0]["points"][0]["x"], 5.0);
  EXPECT_EQ(plots[2]["kind"], "category");
  EXPECT_EQ(plots[2]["categories"], json({"fp32", "rtn"}));

  auto error = [&](const std::string& request) {
    return usage_error_of([&] { choose_plots(pointers(runs), {}, {parse_plot_request(request)}); });
  };
  EXPECT_EQ(error("x=x.ppl,y=y.scor"), "--plot: no run has metric 'y.scor' (metrics: x.ppl, y.score)");
  EXPECT_EQ(error("x=nothing,y=y.score"), "--plot: no run has metric or key 'nothing' (metrics: x.ppl, y.score)");
  EXPECT_EQ(error("x=x.ppl,y=y.score,color=colour").rfind("--plot: no run has 'colour' (axes: method, seed, tags.precision", 0), 0u);
  for (const char* bad : {"x=x.ppl", "y=y.score", "x=x.ppl,y=y.score,z=1", "x=x.ppl,x=x.ppl,y=y.score", "x=,y=y.score", ""})
    EXPECT_EQ(usage_error_of([&] { parse_plot_request(bad); }),
              "--plot: expected x=METRIC,y=METRIC[,color=KEY], got '" + std::string(bad) + "'");
}

TEST(ReportHtml, TableIsEscapedWithMeanAndStd) {
  std::vector<RunRecord> runs = {run("a", 0, "rtn", "W<4>", 0, {{"ppl", 1.5}}), run("b", 1, "rtn", "W<4>", 1, {{"ppl", 3.5}}),
                                 run("c", 2, "rtn", "W8", 0, {{"ppl", 2.0}})};
  runs[2].status = "failed";
  ReportSpec spec;
  spec.format = ReportFormat::Html;
  Report r = make_report(runs, spec);
  EXPECT_NE(r.text.find("<tr><th>method</th><th>tags.precision</th><th class=\"num\">ppl</th></tr>"), std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("<tr><td>rtn</td><td>W&lt;4&gt;</td><td class=\"num\">2.500 ± 1.414</td></tr>"), std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("<p class=\"footnote\">1 failed run excluded.</p>"), std::string::npos) << r.text;
}

TEST(ReportHtml, PageIsSelfContainedWithProvenanceTableAndPlots) {
  std::vector<RunRecord> runs = {run("a", 0, "none", "W16", 0, {{"wiki.ppl", 5.5}}),
                                 run("b", 1, "rtn", "W4", 0, {{"wiki.ppl", 7.25}})};
  runs[1].output.metrics["evil</script><b>.refusal_rate"] = 0.5;   // a label that must not end the script
  runs[1].host = "hostB";
  const std::string library = "/* the library */ var Chart = function () {};";
  std::string page = html_report(runs, {}, {}, {"r.h5"}, library);
  for (const char* text : {"<!DOCTYPE html>", "<title>qlab report: study_one</title>", "<h1>study_one</h1>",
                           "hostA (cpu), hostB (cpu)", "9.8.7", "abc123def", "2026-01-01T00:00:00Z to 2026-01-02T01:00:00Z",
                           "r.h5", "<table>", "<td class=\"num\">7.250</td>", "data-state=\"pending\""})
    EXPECT_NE(page.find(text), std::string::npos) << text;
  EXPECT_EQ(page.find(library), page.rfind(library));   // inlined once
  EXPECT_NE(page.find(library), std::string::npos);
  for (const char* outside : {"http://", "https://", "src=", "<link"}) EXPECT_EQ(page.find(outside), std::string::npos) << outside;
  EXPECT_EQ(page.find("evil</script>"), std::string::npos);

  const std::string open = "<script type=\"application/json\" id=\"qlab-plots\">";
  size_t begin = page.find(open) + open.size(), end = page.find("</script>", begin);
  json embedded = json::parse(page.substr(begin, end - begin));
  EXPECT_EQ(embedded, choose_plots(pointers(runs), {}, {}));
  EXPECT_EQ(titles(embedded)[1], "evil</script><b>.refusal_rate against wiki.ppl");
}

TEST(ReportHtml, NothingToReportIsAUsageError) {
  auto error = [](const std::vector<RunRecord>& runs, const ReportSpec& spec = {}) {
    return usage_error_of([&] { html_report(runs, spec, {}, {"a.h5", "b.h5"}, "lib"); });
  };
  EXPECT_EQ(error({}), "a.h5, b.h5: no runs, nothing to report");
  std::vector<RunRecord> failed = {run("a", 0, "rtn", "W4", 0, {}), run("b", 1, "rtn", "W4", 1, {})};
  for (auto& r : failed) r.status = "failed";
  EXPECT_EQ(error(failed), "a.h5, b.h5: only failed runs (2), nothing to report");
  ReportSpec where;
  where.where = {{"method", "quarot"}};
  EXPECT_EQ(error({run("a", 0, "rtn", "W4", 0, {{"p.ppl", 1}})}, where), "a.h5, b.h5: no complete run matches --where");
  EXPECT_NE(usage_error_of([] { read_chart_js("/nonexistent/chart.min.js"); }).find("apt-get install libjs-chart.js"),
            std::string::npos);
}
