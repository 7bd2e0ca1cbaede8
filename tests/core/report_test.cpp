// Report tables from hand-built runs: grouping, mean ± sample std, missing
// metrics, failed runs, filters, the three formats, and shards read as one.
#include "core/report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "test_util.h"

using namespace qlab;

namespace {

using test::usage_error_of;

RunRecord run(const std::string& hash, int64_t index, int w_bits, int seed, std::map<std::string, double> metrics,
              const std::string& status = "complete") {
  RunRecord r;
  r.hash = hash;
  r.index = index;
  r.seed = seed;
  r.status = status;
  r.config = "model:\n  path: /models/tiny\nmethod:\n  - quarot: {}\n  - gptq: {w_bits: " + std::to_string(w_bits) +
             "}\nseed: " + std::to_string(seed) + "\n";
  r.axes = {{"method.1.gptq.w_bits", std::to_string(w_bits)}, {"seed", std::to_string(seed)}};
  r.output.metrics = std::move(metrics);
  return r;
}

// Six runs: w_bits 4 and 3, three seeds each; perplexities chosen so the
// statistics are easy by hand (4 bits: 1, 2, 3 -> mean 2, sample std 1).
std::vector<RunRecord> six_runs() {
  return {run("a0", 0, 4, 0, {{"ppl", 1.0}, {"acc", 0.5}}), run("a1", 1, 4, 1, {{"ppl", 2.0}}),
          run("a2", 2, 4, 2, {{"ppl", 3.0}}),                run("b0", 3, 3, 0, {{"ppl", 10.0}}),
          run("b1", 4, 3, 1, {{"ppl", 10.5}}),              run("b2", 5, 3, 2, {{"ppl", 12.0}})};
}

ReportSpec spec(std::vector<std::string> rows, std::vector<std::string> cols, ReportFormat f = ReportFormat::Markdown) {
  ReportSpec s;
  s.rows = std::move(rows);
  s.cols = std::move(cols);
  s.format = f;
  return s;
}

}  // namespace

TEST(Report, NumbersShowFourSignificantDigits) {
  EXPECT_EQ(format_number(5.4721, display_decimals(5.4721)), "5.472");
  EXPECT_EQ(format_number(123.46, display_decimals(123.46)), "123.5");
  EXPECT_EQ(format_number(0.8, display_decimals(0.8)), "0.8000");
  EXPECT_EQ(format_number(12345.6, display_decimals(12345.6)), "12346");
  EXPECT_EQ(format_number(0.0, display_decimals(0.0)), "0.0000");
}

TEST(Report, MarkdownAggregatesSeedsInStudyOrder) {
  // 3 bits by hand: mean (10 + 10.5 + 12) / 3 = 10.8333; deviations
  // -0.8333, -0.3333, 1.1667 -> squares sum 2.1667, / 2 = 1.0833, sqrt = 1.0408.
  Report r = make_report(six_runs(), spec({"method.1.gptq.w_bits"}, {"ppl", "acc"}));
  EXPECT_EQ(r.text,
            "| method.1.gptq.w_bits | ppl | acc |\n"
            "| --- | ---: | ---: |\n"
            "| 4 | 2.000 ± 1.000 | 0.5000 |\n"
            "| 3 | 10.83 ± 1.04 | — |\n");
  EXPECT_EQ(r.failed_excluded, 0u);
}

TEST(Report, StatisticsMatchAnIndependentComputation) {
  std::vector<double> xs = {3.25, 3.5, 3.0, 4.125};
  std::vector<RunRecord> runs;
  for (size_t i = 0; i < xs.size(); ++i) runs.push_back(run("h" + std::to_string(i), i, 4, i, {{"ppl", xs[i]}}));
  double mean = 0;
  for (double x : xs) mean += x / xs.size();
  double var = 0;
  for (double x : xs) var += (x - mean) * (x - mean) / (xs.size() - 1);
  char expected[64];
  std::snprintf(expected, sizeof expected, "%.3f ± %.3f", mean, std::sqrt(var));
  Report r = make_report(runs, spec({"method"}, {"ppl"}));
  EXPECT_NE(r.text.find(std::string("| quarot+gptq | ") + expected + " |"), std::string::npos) << r.text;

  Report csv = make_report(runs, spec({"method"}, {"ppl"}, ReportFormat::Csv));
  std::string line = csv.text.substr(csv.text.find('\n') + 1);
  double m = 0, s = 0;
  ASSERT_EQ(std::sscanf(line.c_str(), "quarot+gptq,4,%lf,%lf", &m, &s), 2) << csv.text;
  EXPECT_NEAR(m, mean, 1e-12);
  EXPECT_NEAR(s, std::sqrt(var), 1e-12);
}

TEST(Report, ConfigPathsPipelinesAndSeedsAsRows) {
  auto runs = six_runs();
  runs[0].config = "model:\n  path: /models/other\nmethod:\n  - rtn: {w_bits: 4}\n";
  ReportSpec s = spec({"model.path", "method", "seed"}, {"ppl"});
  s.where = {{"method.1.gptq.w_bits", "4"}};
  Report r = make_report(runs, s);
  EXPECT_NE(r.text.find("| /models/other | rtn | 0 | 1.000 |"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("| /models/tiny | quarot+gptq | 2 | 3.000 |"), std::string::npos) << r.text;
  EXPECT_EQ(row_value(runs[1], "method.1.gptq"), "{w_bits: 4}");
  EXPECT_EQ(row_value(runs[1], "method.7.gptq"), "");
}

TEST(Report, FailedRunsAreExcludedAndCounted) {
  auto runs = six_runs();
  runs.push_back(run("f0", 6, 4, 9, {}, "failed"));
  runs.push_back(run("f1", 7, 2, 0, {}, "failed"));
  Report r = make_report(runs, spec({"method.1.gptq.w_bits"}, {"ppl"}));
  EXPECT_EQ(r.failed_excluded, 2u);
  EXPECT_NE(r.text.find("| 4 | 2.000 ± 1.000 |"), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("| 2 |"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("\n2 failed runs excluded.\n"), std::string::npos) << r.text;
}

TEST(Report, WhereFiltersCompareNumbersByValue) {
  ReportSpec s = spec({"seed"}, {"ppl"});
  s.where = {{"method.1.gptq.w_bits", "3.0"}};
  Report r = make_report(six_runs(), s);
  EXPECT_EQ(r.text,
            "| seed | ppl |\n| --- | ---: |\n| 0 | 10.00 |\n| 1 | 10.50 |\n| 2 | 12.00 |\n");
  s.where.push_back({"model.path", "/elsewhere"});
  EXPECT_EQ(make_report(six_runs(), s).text, "| seed | ppl |\n| --- | ---: |\n");
}

TEST(Report, LatexIsABooktabsTabular) {
  Report r = make_report(six_runs(), spec({"method.1.gptq.w_bits"}, {"ppl", "acc"}, ReportFormat::Latex));
  EXPECT_EQ(r.text,
            "\\begin{tabular}{lrr}\n\\toprule\n"
            "method.1.gptq.w\\_bits & ppl & acc \\\\\n\\midrule\n"
            "4 & $2.000 \\pm 1.000$ & $0.5000$ \\\\\n"
            "3 & $10.83 \\pm 1.04$ & --- \\\\\n"
            "\\bottomrule\n\\end{tabular}\n");
}

TEST(Report, CsvKeepsFullPrecisionAndEmptyCellsForMissing) {
  Report r = make_report(six_runs(), spec({"method.1.gptq.w_bits"}, {"ppl", "acc"}, ReportFormat::Csv));
  std::string head = "method.1.gptq.w_bits,runs,ppl,ppl.std,acc,acc.std\n4,3,2,1,0.5,\n";
  ASSERT_EQ(r.text.substr(0, head.size()), head);
  double mean = 0, sd = 0;
  int end = 0;
  ASSERT_EQ(std::sscanf(r.text.c_str() + head.size(), "3,3,%lf,%lf,,\n%n", &mean, &sd, &end), 2) << r.text;
  EXPECT_EQ(head.size() + end, r.text.size());
  EXPECT_NEAR(mean, 32.5 / 3, 1e-14);
  EXPECT_NEAR(sd, std::sqrt(13.0 / 12.0), 1e-14);   // sum of squares 13/6, over n - 1 = 2
}

TEST(Report, DefaultsAreAllAxesButSeedAndAllMetrics) {
  Report r = make_report(six_runs(), spec({}, {}));
  EXPECT_EQ(r.text.substr(0, r.text.find('\n')), "| method.1.gptq.w_bits | acc | ppl |");
}

TEST(Report, UnknownKeysAreUsageErrors) {
  auto runs = six_runs();
  EXPECT_EQ(usage_error_of([&] { make_report(runs, spec({"methd"}, {"ppl"})); }).rfind("--rows: no run has 'methd'", 0), 0u);
  EXPECT_EQ(usage_error_of([&] { make_report(runs, spec({"seed"}, {"pplx"})); }),
            "--cols: no run has metric 'pplx' (metrics: acc, ppl)");
  ReportSpec s = spec({"seed"}, {"ppl"});
  s.where = {{"bits", "4"}};
  EXPECT_EQ(usage_error_of([&] { make_report(runs, s); }).rfind("--where: no run has 'bits'", 0), 0u);
  EXPECT_THROW(parse_report_format("pdf"), UsageError);
  EXPECT_EQ(parse_report_format("html"), ReportFormat::Html);
  EXPECT_EQ(parse_report_format("latex"), ReportFormat::Latex);
}

TEST(Report, ShardFilesReadAsOneStudy) {
  std::string dir = test::temp_dir("report");
  auto runs = six_runs();
  {
    Store a(dir + "/s.shard0of2.h5", true), b(dir + "/s.shard1of2.h5", true);
    for (size_t i = 0; i < runs.size(); ++i) (i % 2 ? b : a).commit(runs[i]);
  }
  std::vector<RunRecord> read = read_runs(dir + "/s.shard0of2.h5");
  for (auto& r : read_runs(dir + "/s.shard1of2.h5")) read.push_back(r);
  for (auto& r : read_runs(dir + "/s.shard1of2.h5")) read.push_back(r);   // a file named twice counts once
  ReportSpec s = spec({"method.1.gptq.w_bits"}, {"ppl"});
  EXPECT_EQ(make_report(read, s).text, make_report(runs, s).text);
}

// A paper table: seeds as rows, bit widths spread over the columns in study
// order; with two metrics each column names its value and metric.
TEST(Report, PivotSpreadsAKeyOverTheColumns) {
  ReportSpec s = spec({"seed"}, {"ppl"});
  s.pivot = "method.1.gptq.w_bits";
  EXPECT_EQ(make_report(six_runs(), s).text,
            "| seed | 4 | 3 |\n"
            "| --- | ---: | ---: |\n"
            "| 0 | 1.000 | 10.00 |\n"
            "| 1 | 2.000 | 10.50 |\n"
            "| 2 | 3.000 | 12.00 |\n");
  // No row keys left: one row, seeds aggregated per column; a metric only some
  // runs have leaves the other cells empty.
  s.rows = {"method.1.gptq.w_bits"};   // the pivot key itself is dropped from the rows
  s.cols = {"ppl", "acc"};
  EXPECT_EQ(make_report(six_runs(), s).text,
            "| 4 ppl | 4 acc | 3 ppl | 3 acc |\n"
            "| ---: | ---: | ---: | ---: |\n"
            "| 2.000 ± 1.000 | 0.5000 | 10.83 ± 1.04 | — |\n");
  s.pivot = "method.1.gptq.w_bit";
  EXPECT_EQ(usage_error_of([&] { make_report(six_runs(), s); }).rfind("--pivot: no run has 'method.1.gptq.w_bit'", 0), 0u);
}

// Counts (windows, tokens, n: whole in every run) print as integers; a mean
// that is not whole keeps the usual four significant digits, and a metric with
// any fractional value keeps them everywhere.
TEST(Report, IntegerMetricsPrintAsIntegers) {
  std::vector<RunRecord> runs = {run("a0", 0, 4, 0, {{"windows", 6}, {"ppl", 2}}),
                                 run("a1", 1, 4, 1, {{"windows", 6}, {"ppl", 2}}),
                                 run("b0", 2, 3, 0, {{"windows", 6}, {"ppl", 2.5}}),
                                 run("b1", 3, 3, 1, {{"windows", 7}, {"ppl", 2.5}})};
  // 6 and 7: mean 6.5, sample std sqrt(0.5) = 0.7071.
  EXPECT_EQ(make_report(runs, spec({"method.1.gptq.w_bits"}, {"windows", "ppl"})).text,
            "| method.1.gptq.w_bits | windows | ppl |\n"
            "| --- | ---: | ---: |\n"
            "| 4 | 6 ± 0 | 2.000 ± 0.000 |\n"
            "| 3 | 6.500 ± 0.707 | 2.500 ± 0.000 |\n");
  EXPECT_EQ(make_report({runs[0]}, spec({"seed"}, {"windows"}, ReportFormat::Latex)).text,
            "\\begin{tabular}{lr}\n\\toprule\nseed & windows \\\\\n\\midrule\n0 & $6$ \\\\\n\\bottomrule\n\\end{tabular}\n");
}

// The unquantized baseline is named by its precision, not "none"; --where
// accepts either spelling.
TEST(Report, BaselineNamedByItsDtype) {
  RunRecord fp = run("fp", 0, 4, 0, {{"ppl", 5.5}});
  fp.config = "model:\n  path: /models/tiny\n  dtype: bfloat16\nmethod: []\nseed: 0\n";
  fp.axes = {{"method", "none"}};
  RunRecord q = run("q", 1, 4, 0, {{"ppl", 6.25}});
  q.config = "model:\n  path: /models/tiny\n  dtype: bfloat16\nmethod:\n  - rtn: {w_bits: 4}\nseed: 0\n";
  q.axes = {{"method", "rtn"}};
  EXPECT_EQ(make_report({fp, q}, spec({"method"}, {"ppl"})).text,
            "| method | ppl |\n| --- | ---: |\n| bf16 | 5.500 |\n| rtn | 6.250 |\n");
  fp.config = "model:\n  path: /models/tiny\nmethod: []\nseed: 0\n";   // float32, the default
  ReportSpec s = spec({"method"}, {"ppl"});
  s.where = {{"method", "none"}};
  EXPECT_EQ(make_report({fp, q}, s).text, "| method | ppl |\n| --- | ---: |\n| fp32 | 5.500 |\n");
  s.where = {{"method", "fp32"}};
  EXPECT_EQ(make_report({fp, q}, s).text, "| method | ppl |\n| --- | ---: |\n| fp32 | 5.500 |\n");
}

// LaTeX and CSV with --pivot: one column per (value, metric).
TEST(Report, PivotInLatexAndCsv) {
  ReportSpec s = spec({"seed"}, {"ppl"}, ReportFormat::Latex);
  s.pivot = "method.1.gptq.w_bits";
  s.where = {{"seed", "0"}};
  EXPECT_EQ(make_report(six_runs(), s).text,
            "\\begin{tabular}{lrr}\n\\toprule\nseed & 4 & 3 \\\\\n\\midrule\n0 & $1.000$ & $10.00$ \\\\\n"
            "\\bottomrule\n\\end{tabular}\n");
  s.rows = {};
  s.cols = {"ppl", "acc"};
  s.where = {};
  std::string latex = make_report(six_runs(), s).text;
  EXPECT_EQ(latex.substr(0, latex.find('\n')), "\\begin{tabular}{rrrr}");
  EXPECT_NE(latex.find("4 ppl & 4 acc & 3 ppl & 3 acc \\\\\n"), std::string::npos) << latex;
  s.format = ReportFormat::Csv;
  s.rows = {"seed"};
  s.cols = {"ppl"};
  EXPECT_EQ(make_report(six_runs(), s).text,
            "seed,runs,4,4.std,3,3.std\n0,2,1,,10,\n1,2,2,,10.5,\n2,2,3,,12,\n");
}

// Runs that share a row but differ in more than the seed are not averaged:
// the rows are split by the keys they differ in, and the footnote says so.
TEST(Report, OnlySeedsAreAveraged) {
  auto make = [](const std::string& hash, int64_t index, bool sym, int seed, double ppl) {
    RunRecord r = run(hash, index, 4, seed, {{"ppl", ppl}});
    r.config = "model:\n  path: /models/tiny\nmethod:\n  - rtn: {a_sym: " + std::string(sym ? "true" : "false") +
               ", w_bits: 4}\nseed: " + std::to_string(seed) + "\n";
    r.axes = {{"method", "rtn"}, {"method.0.rtn.a_sym", sym ? "true" : "false"}, {"seed", std::to_string(seed)}};
    return r;
  };
  std::vector<RunRecord> runs = {make("s0", 0, true, 0, 6.0), make("s1", 1, true, 1, 6.2),
                                 make("a0", 2, false, 0, 7.0), make("a1", 3, false, 1, 7.4)};
  Report r = make_report(runs, spec({"method"}, {"ppl"}));
  EXPECT_EQ(r.split_by, (std::vector<std::string>{"method.0.rtn.a_sym"}));
  EXPECT_EQ(r.text,
            "| method | method.0.rtn.a_sym | ppl |\n| --- | --- | ---: |\n"
            "| rtn | true | 6.100 ± 0.141 |\n| rtn | false | 7.200 ± 0.283 |\n"
            "\nrows split by method.0.rtn.a_sym: runs of one row differed in more than the seed.\n");
  // A difference no axis names (two files of other studies) is named by its path.
  for (auto& x : runs) x.axes.erase("method.0.rtn.a_sym");
  r = make_report(runs, spec({"method", "seed"}, {"ppl"}));
  EXPECT_EQ(r.split_by, (std::vector<std::string>{"method.0.rtn.a_sym"}));
  EXPECT_NE(r.text.find("| rtn | 0 | false | 7.000 |"), std::string::npos) << r.text;
  // Seeds alone stay one row.
  runs.resize(2);
  r = make_report(runs, spec({"method"}, {"ppl"}));
  EXPECT_TRUE(r.split_by.empty());
  EXPECT_EQ(r.text, "| method | ppl |\n| --- | ---: |\n| rtn | 6.100 ± 0.141 |\n");
}

TEST(Report, NamedReplicatesShareACellAsSeedsDo) {
  // The default study over three testbeds: each seed's models live in their
  // own folder, so model.path differs with the seed.
  auto make = [](const std::string& hash, int64_t index, int seed, double ppl) {
    RunRecord r = run(hash, index, 4, seed, {{"ppl", ppl}});
    r.config = "model:\n  path: /testbed-seed" + std::to_string(seed) + "/aligned\nmethod:\n  - rtn: {w_bits: 4}\nseed: " +
               std::to_string(seed) + "\n";
    r.axes = {{"method", "rtn"}, {"seed", std::to_string(seed)}};
    return r;
  };
  std::vector<RunRecord> runs = {make("r0", 0, 0, 2.5), make("r1", 1, 1, 4.5)};
  Report split = make_report(runs, spec({"method"}, {"ppl"}));
  EXPECT_EQ(split.split_by, (std::vector<std::string>{"model.path"}));
  ReportSpec s = spec({"method"}, {"ppl"});
  s.replicates = {"model"};   // a key covers what lies under it
  Report r = make_report(runs, s);
  EXPECT_TRUE(r.split_by.empty());
  // mean 3.5, sample std sqrt(2)
  EXPECT_EQ(r.text, "| method | ppl |\n| --- | ---: |\n| rtn | 3.500 ± 1.414 |\n");
  s.replicates = {"modle.path"};
  EXPECT_NE(usage_error_of([&] { make_report(runs, s); }).find("--replicate: no run has 'modle.path'"), std::string::npos);
}
