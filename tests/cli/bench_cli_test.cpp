// qlab_bench's command line: a mistyped or valueless option is refused in one
// line (exit 2) instead of running the defaults (a 7B-shape model), and
// --help prints the usage.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace qlab {
namespace {

test::CommandResult bench(const std::string& args) { return test::run_shell("'" + test::bench_bin() + "' " + args); }

TEST(BenchCli, HelpPrintsTheUsage) {
  // Each case after the first names the tiny shape on the CPU, so that a parser
  // that ignored the flag would run a benchmark in seconds and fail the test.
  for (const std::string args : {"--help", "forward --shape tiny --device cpu --help", "pipeline --shape tiny -h"}) {
    auto r = bench(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    EXPECT_NE(r.out.find("usage: qlab_bench forward|pipeline|generate|spinquant|transitions"), std::string::npos) << args;
  }
}

TEST(BenchCli, BadOptionsAreOneLineAndExitTwo) {
  const std::string tiny = "forward --shape tiny --device cpu --batch 1 --seqlen 8 ";
  const std::pair<std::string, std::string> cases[] = {
      {tiny + "--iters 1 --shap tiny", "qlab_bench forward: unknown option '--shap'"},
      {tiny + "--iters", "qlab_bench forward: --iters needs a value"},
      {tiny + "--iters 1 tiny", "qlab_bench forward: unknown option 'tiny'"},
      {"frwd", "qlab_bench: unknown benchmark 'frwd'"},
  };
  for (const auto& [args, message] : cases) {
    auto r = bench(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(r.err.substr(0, r.err.find('\n')), message) << args;
    EXPECT_TRUE(r.out.empty()) << args;
  }
}

// A benchmark with its options runs: the tiny shape's forward prints its table.
TEST(BenchCli, TheTinyForwardPrintsItsTable) {
  auto r = bench("forward --shape tiny --batch 1 --iters 1 --seqlen 32 --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| W4A4KV4 | 1 |"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace qlab
