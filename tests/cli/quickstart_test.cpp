// The default study end to end on a reduced testbed: `qlab testbed --size
// small` builds the corpus, tokenizer, base and aligned models (and finds
// them up to date the second time), and experiments/quickstart.yaml runs on
// them, cut to FP and W4A4KV4 RTN, with every evaluator it names.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/store.h"
#include "test_util.h"

namespace qlab {
namespace {

TEST(Quickstart, ReducedStudyRunsOnASmallTestbed) {
  const std::string dir = test::temp_dir("quickstart"), bed = dir + "/testbed";
  auto built = test::run_qlab({"testbed", "--size", "small", "--out", bed});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  for (const char* piece : {"corpus", "tokenizer", "base", "aligned"}) {
    EXPECT_TRUE(std::filesystem::exists(bed + "/" + piece + "/qlab_testbed.json")) << piece;
    EXPECT_NE(built.err.find(std::string("testbed: building ") + piece), std::string::npos) << built.err;
  }
  // A second call trains nothing.
  auto again = test::run_qlab({"testbed", "--size", "small", "--out", bed});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("testbed: building"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("testbed: aligned is up to date"), std::string::npos) << again.err;

  auto run = test::run_qlab({"run", test::source_dir() + "/experiments/quickstart.yaml", "-q",
                             "model.path=" + bed + "/aligned", "base_model.path=" + bed + "/base", "data_root=" + bed + "/corpus",
                             "output=" + dir + "/q.h5", "sweep.zip={tags.precision: [W16A16, W4A4KV4], method: [[], [{rtn: {w_bits: 4, a_bits: 4, kv_bits: 4}}]]}"},
                            test::source_dir());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::map<std::string, RunRecord> by_method;
  for (RunRecord& r : read_runs(dir + "/q.h5")) {
    EXPECT_EQ(r.status, "complete") << r.error;
    by_method[r.axes.at("method")] = r;
  }
  ASSERT_EQ(by_method.size(), 2u);
  for (auto& [method, r] : by_method) {
    const auto& m = r.output.metrics;
    for (const char* key : {"perplexity.ppl", "harmful.refusal_rate", "benign.refusal_rate", "nmix_es.nmix",
                            "nmix_ru.line_pass_rate"})
      EXPECT_TRUE(m.count(key)) << method << " lacks " << key;
    EXPECT_EQ(m.at("harmful.n"), 20);   // the small corpus holds 20 prompts per evaluation file
  }
  // A trained model is far better than uniform over its vocabulary (512).
  EXPECT_LT(by_method.at("none").output.metrics.at("perplexity.ppl"), 100.0);
  EXPECT_GT(by_method.at("rtn").output.metrics.at("perplexity.ppl"), by_method.at("none").output.metrics.at("perplexity.ppl"));
}

TEST(Quickstart, BadTestbedOptionsAreOneLineErrors) {
  const std::string dir = test::temp_dir("testbed_bad");
  auto size = test::run_qlab({"testbed", "--size", "huge", "--out", dir + "/t"});
  EXPECT_EQ(size.exit_code, 2);
  EXPECT_EQ(size.err, "qlab testbed: unknown testbed size 'huge' (known: small, refusal, default, gpu)\n");
  // A folder that is not ours is never removed to make room.
  test::write_file(dir + "/mine/corpus/notes.txt", "keep me");
  auto foreign = test::run_qlab({"testbed", "--size", "small", "--out", dir + "/mine"});
  EXPECT_EQ(foreign.exit_code, 2);
  EXPECT_NE(foreign.err.find(dir + "/mine/corpus: exists and is not a testbed piece"), std::string::npos) << foreign.err;
  EXPECT_EQ(test::read_file(dir + "/mine/corpus/notes.txt"), "keep me");
}

}  // namespace
}  // namespace qlab
