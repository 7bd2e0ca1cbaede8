// Large sweeps through the real binary: run hashes stay what they were before
// expansion was rewritten for speed (a results file made earlier must still
// be recognised as done), and a grid of 10^6 runs is refused at once with its size.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "test_util.h"

namespace qlab {
namespace {

// A study with what can reach the canonical text: a model and a base model
// (one given a dtype), a data set under data_root, quoted and plain strings,
// ints, floats, bools from defaults, a preset resolved from an earlier step,
// tags, an override, and grid, zip and seeds axes. Paths are relative, so the
// hashes do not depend on where the test runs; the files' contents are fixed.
struct PinnedStudy {
  std::string dir = test::temp_dir("pinned-hashes");
  PinnedStudy() {
    test::write_file(dir + "/model/config.json", "{\"hidden_size\": 8}\n");
    test::write_file(dir + "/model/model.safetensors", "pinned weights\n");
    test::write_file(dir + "/data/w.txt", "some text for the hash pin\n");
    test::write_file(dir + "/pinned.yaml", R"(name: pinned
output: out/r.h5
model: {path: model}
base_model: {path: model, dtype: bfloat16}
data_root: data
datasets:
  wiki: {text: {path: w.txt}}
method:
  - quarot: {}
  - gptq: {w_bits: 4, w_groupsize: 128, dataset: wiki, nsamples: 4}
evaluators:
  - perplexity: {dataset: wiki, seqlen: 64}
tags: {precision: W4}
sweep:
  grid: {method.1.gptq.w_bits: [3, 4]}
  zip: {tags.precision: [a, "b c"], evaluators.0.perplexity.seqlen: [32, 64]}
  seeds: [0, 1]
)");
  }
};

// The hash column of a dry-run listing.
std::vector<std::string> hashes(const std::string& listing) {
  std::vector<std::string> out;
  std::istringstream in(listing);
  std::string line, index, hash;
  std::getline(in, line);   // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (fields >> index >> hash && hash.size() == 16) out.push_back(hash);
  }
  return out;
}

TEST(SweepScale, RunHashesPinned) {
  PinnedStudy s;
  auto r = test::run_qlab({"run", "pinned.yaml", "method.1.gptq.w_clip=0.9", "--dry-run"}, s.dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Printed by `qlab run --dry-run` at commit 8179e01, before expansion built
  // runs from copies of the parsed study (core/study.cpp): not computed here.
  const std::vector<std::string> before = {"282cc5cab82ef189", "bf87410760541d10", "0625f4d04c37d11e",
                                           "568dbd913a33865f", "10e251f76bbe2dc1", "da4a257b764285ff",
                                           "b652ab00653652a5", "ec02d6e38b7571c8"};
  EXPECT_EQ(hashes(r.out), before) << r.out;
}

TEST(SweepScale, MillionRunGridRefusedAtOnceWithItsSize) {
  if (test::test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
  std::string dir = test::temp_dir("million");
  std::string axis = "[";
  for (int i = 0; i < 1000; ++i) axis += (i ? ", " : "") + std::to_string(i + 1);
  axis += "]";
  test::write_file(dir + "/s.yaml", "name: big\noutput: r.h5\nmethod: []\nevaluators:\n  - test_constant: {}\n"
                                    "sweep:\n  grid:\n    evaluators.0.test_constant.value: " + axis +
                                        "\n    evaluators.0.test_constant.sleep_ms: " + axis + "\n");
  auto start = std::chrono::steady_clock::now();
  auto r = test::run_qlab({"run", "s.yaml", "--dry-run", "--plugin", test::test_plugins()}, dir);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab run: s.yaml:6:1: sweep: 1000000 runs, more than the bound of 100000 "
                   "(qlab run --max-runs N raises it)\n");
  // Expanding would take minutes; refusing is the binary's start-up (about a second) plus one parse.
  EXPECT_LT(seconds, 20.0);
}

}  // namespace
}  // namespace qlab
