// `qlab report --format html` on a small study run through the real binary
// with the fixture plugins (no model), opened in headless Chromium: the page
// renders without script errors and each plot has the marks the study's shape
// says it must, read from the rendered DOM; a screenshot is kept under
// build/test-artifacts/. Without Chromium the browser test skips with a
// message (tools/install_deps.sh installs it). Also the bad input that must
// leave no file behind.
#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <regex>

#include "core/error.h"
#include "core/report_html.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

using test::test_plugins;

// The study: methods {none, test_scale (6 training steps)} x precisions
// {W8, W4} (perplexity and refusal per precision) x seeds {0, 1, 2}.
constexpr int kMethods = 2, kPrecisions = 2, kSeeds = 3;
const char* const kStudy = R"(name: html_report
output: r.h5
tags: {precision: W8}
method: []
evaluators:
  - test_constant: {label: wiki, metric: ppl, value: 0}
  - test_constant: {label: harmful, metric: refusal_rate, value: 0}
  - test_constant: {label: nmix_es, metric: nmix.es, value: 0.25}
sweep:
  zip:
    tags.precision: [W8, W4]
    evaluators.0.test_constant.value: [5.5, 7.5]
    evaluators.1.test_constant.value: [0.9, 0.6]
  grid:
    method: [[], [{test_scale: {steps: 6}}]]
  seeds: [0, 1, 2]
)";

std::string chromium() {
  auto r = test::run_shell("(command -v chromium || command -v chromium-browser)");
  std::string path = r.out.substr(0, r.out.find('\n'));
  return r.exit_code == 0 ? path : "";
}

// Attributes of every tag `<name ...>` in html, in document order.
std::vector<std::map<std::string, std::string>> tags(const std::string& html, const std::string& name) {
  std::vector<std::map<std::string, std::string>> out;
  const std::regex tag("<" + name + "\\s([^>]*)>"), attr("([\\w-]+)=\"([^\"]*)\"");
  for (auto t = std::sregex_iterator(html.begin(), html.end(), tag); t != std::sregex_iterator(); ++t) {
    std::map<std::string, std::string> attrs;
    const std::string inside = (*t)[1];
    for (auto a = std::sregex_iterator(inside.begin(), inside.end(), attr); a != std::sregex_iterator(); ++a)
      attrs[(*a)[1]] = (*a)[2];
    out.push_back(attrs);
  }
  return out;
}

struct ReportHtmlCli : ::testing::Test {
  std::string dir = test::temp_dir("report-html");
  std::string page = dir + "/report.html";

  void SetUp() override {
    if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
    if (!fs::exists(kChartJsPath)) GTEST_SKIP() << kChartJsPath << " missing: apt-get install libjs-chart.js (tools/install_deps.sh)";
  }
  // Runs `study` (YAML text) into dir/r.h5; the exit code of qlab run.
  int run_study(const std::string& study) {
    test::write_file(dir + "/s.yaml", study);
    return test::run_qlab({"run", dir + "/s.yaml", "--plugin", test_plugins()}, dir).exit_code;
  }
  test::CommandResult report(std::vector<std::string> extra) {
    std::vector<std::string> args = {"report", dir + "/r.h5", "--format", "html", "--out", page};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_qlab(args, dir);
  }
};

TEST_F(ReportHtmlCli, RendersInChromiumWithTheExpectedMarks) {
  const std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "chromium not installed (tools/install_deps.sh installs it): browser test skipped";
  ASSERT_EQ(run_study(kStudy), 0);
  auto r = report({"--plot", "x=wiki.ppl,y=nmix_es.nmix.es,color=tags.precision"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string flags = " --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000 ";
  auto dom = test::run_shell("timeout 120 " + browser + flags + "--dump-dom file://" + page + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0);
  auto status = tags(dom.out, "div");
  auto it = std::find_if(status.begin(), status.end(), [](auto& a) { return a["id"] == "qlab-status"; });
  ASSERT_NE(it, status.end()) << dom.out.substr(0, 2000);
  EXPECT_EQ((*it)["data-state"], "done");
  EXPECT_EQ((*it)["data-errors"], "0") << dom.out.substr(dom.out.find("qlab-status"), 600);

  // Expected marks from the study's shape: every run a point; means per
  // series and category; a line per series across the precisions; a
  // training curve per run of the learned method.
  const int runs = kMethods * kPrecisions * kSeeds, learned_runs = kPrecisions * kSeeds;
  struct Marks {
    int points, means, lines;
  };
  const std::vector<std::pair<std::string, Marks>> expected = {
      {"wiki.ppl by tags.precision", {runs, kMethods * kPrecisions, kMethods}},
      {"harmful.refusal_rate against wiki.ppl", {runs, 0, 0}},
      {"test_scale.loss per step", {0, 0, learned_runs}},
      {"test_scale.pull per step", {0, 0, learned_runs}},
      {"test_scale.push per step", {0, 0, learned_runs}},
      {"N-Mix per language", {runs, kMethods * kPrecisions, 0}},   // one language; a series per table row
      {"nmix_es.nmix.es against wiki.ppl", {runs, 0, 0}}};
  auto figures = tags(dom.out, "figure");
  ASSERT_EQ(figures.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].first);
    EXPECT_EQ(figures[i]["data-title"], expected[i].first);
    EXPECT_EQ(figures[i]["data-points"], std::to_string(expected[i].second.points));
    EXPECT_EQ(figures[i]["data-means"], std::to_string(expected[i].second.means));
    EXPECT_EQ(figures[i]["data-lines"], std::to_string(expected[i].second.lines));
  }

  // The screenshot, kept as the test's artefact beside the page it shows.
  const fs::path artifacts = fs::path(test::qlab_bin()).parent_path() / "test-artifacts";
  fs::create_directories(artifacts);
  const std::string shot = (artifacts / "report_html.png").string();
  fs::remove(shot);
  fs::copy_file(page, artifacts / "report_html.html", fs::copy_options::overwrite_existing);
  auto s = test::run_shell("timeout 120 " + browser + flags + "--window-size=1280,2600 --screenshot=" + shot +
                           " file://" + page + " 2>/dev/null");
  ASSERT_EQ(s.exit_code, 0);
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 10000u);
  std::cout << "screenshot: " << shot << "\n";
}

TEST_F(ReportHtmlCli, BadInputIsOneLineExitTwoAndLeavesNoFile) {
  ASSERT_EQ(run_study(kStudy), 0);
  auto expect_error = [&](std::vector<std::string> extra, const std::string& message) {
    SCOPED_TRACE(message);
    auto r = report(extra);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "qlab report: " + message + "\n");
    EXPECT_FALSE(fs::exists(page));
    EXPECT_FALSE(fs::exists(page + ".tmp"));
  };
  expect_error({"--plot", "x=wiki.ppl,y=wiki.pplx"},
               "--plot: no run has metric 'wiki.pplx' (metrics: harmful.refusal_rate, nmix_es.nmix.es, wiki.ppl)");
  expect_error({"--plot", "x=wiki.ppl"}, "--plot: expected x=METRIC,y=METRIC[,color=KEY], got 'x=wiki.ppl'");
  expect_error({"--where", "method=quarot"}, dir + "/r.h5: no complete run matches --where");
  auto r = test::run_qlab({"report", dir + "/r.h5", "--plot", "x=wiki.ppl,y=wiki.ppl"}, dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab report: --plot: only with --format html\n");

  // An earlier page survives a failed report whole.
  test::write_file(page, "earlier");
  EXPECT_EQ(report({"--plot", "x=a,y=b"}).exit_code, 2);
  EXPECT_EQ(test::read_file(page), "earlier");
  fs::remove(page);

  // A results file holding no runs (every run taken out of it).
  {
    H5::H5File f(dir + "/r.h5", H5F_ACC_RDWR);
    H5::Group g = f.openGroup("runs");
    std::vector<std::string> names;
    for (hsize_t i = 0; i < g.getNumObjs(); ++i) names.push_back(g.getObjnameByIdx(i));
    for (const auto& n : names) g.unlink(n);
  }
  expect_error({}, dir + "/r.h5: no runs, nothing to report");

  // Only failed runs.
  fs::remove(dir + "/r.h5");
  ASSERT_EQ(run_study("name: failing\noutput: r.h5\nmethod: []\nevaluators:\n  - test_constant: {fail: true}\n"
                      "sweep:\n  seeds: [0, 1]\n"),
            kExitRunsFailed);
  expect_error({}, dir + "/r.h5: only failed runs (2), nothing to report");
}

}  // namespace
}  // namespace qlab
