// The second example study, experiments/stories260k.yaml, end to end through the
// binary on the real stories260K model: convert, run the four pipelines,
// read the results file back.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/store.h"
#include "test_util.h"

namespace qlab {
namespace {

TEST(Stories260kStudy, FourPipelinesRunOnStories260K) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("quickstart"), model = dir + "/stories260K-hf";
  const std::string data = test::shared_data() + "/stories260K";
  auto convert = test::run_qlab({"convert", "--from", "llama2c", data + "/stories260K.bin", "--tokenizer",
                                 data + "/tok512.model", "--out", model});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  // The study's data path is relative to the checkout, as when the README runs it.
  auto run = test::run_qlab({"run", test::source_dir() + "/experiments/stories260k.yaml", "model.path=" + model,
                             "output=" + dir + "/q.h5"},
                            test::source_dir());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::map<std::string, double> ppl;
  for (const RunRecord& r : read_runs(dir + "/q.h5")) {
    EXPECT_EQ(r.status, "complete") << r.error;
    ppl[r.axes.at("method")] = r.output.metrics.at("perplexity.ppl");
    EXPECT_EQ(r.output.metrics.at("perplexity.seqlen"), 512);
  }
  ASSERT_EQ(ppl.size(), 4u);
  for (const auto& [method, p] : ppl) EXPECT_TRUE(std::isfinite(p) && p > 1.0) << method << " " << p;
  // 4-bit activations without a rotation cost the model a lot of its fit.
  EXPECT_GT(ppl.at("rtn"), ppl.at("none"));
  std::cout << "stories260K ppl: FP " << ppl["none"] << ", RTN W4A4KV4 " << ppl["rtn"] << ", QuaRot-RTN "
            << ppl["quarot+rtn"] << ", QuaRot-GPTQ " << ppl["quarot+gptq"] << "\n";
}

}  // namespace
}  // namespace qlab
