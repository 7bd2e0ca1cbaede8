// The shipped studies run end to end through the binary with a relative
// data_root, resolved once against the working directory (the checkout): the
// check before the first run and every run read the same files.
#include <gtest/gtest.h>

#include "core/store.h"
#include "test_util.h"

namespace qlab {
namespace {

// Every run of the results file complete (a doubled data_root failed them all).
void expect_all_complete(const std::string& results, size_t runs) {
  std::vector<RunRecord> all = read_runs(results);
  EXPECT_EQ(all.size(), runs);
  for (const RunRecord& r : all) EXPECT_EQ(r.status, "complete") << r.hash << ": " << r.error;
}

// experiments/safety_eval.yaml as shipped (data_root: ../shared/data), on the
// tiny fixture on the CPU, every data set cut to 2 items.
TEST(DataRootCli, SafetyEvalRunsWithItsShippedRelativeDataRoot) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("data_root_safety");
  std::vector<std::string> args = {"run", "experiments/safety_eval.yaml", "-q", "output=" + dir + "/s.h5",
                                   "model.path=" + test::fixtures() + "/golden/llama2", "model.device=cpu",
                                   "model.dtype=float32"};
  for (const char* d : {"advbench.advbench", "xstest.xstest", "safetybench.safetybench", "tofu_ar.tofu_ml",
                        "tofu_hi.tofu_ml", "tofu_ko.tofu_ml"})
    args.push_back(std::string("datasets.") + d + ".limit=2");
  for (const char* e : {"0.refusal", "1.refusal", "3.nmix", "4.nmix", "5.nmix"})
    args.push_back(std::string("evaluators.") + e + ".max_new_tokens=4");
  auto r = test::run_qlab(args, test::source_dir());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_all_complete(dir + "/s.h5", 3);   // FP, RTN, QuaRot-RTN
}

// experiments/stories260k.yaml with its text read through a relative data_root
// (two of its pipelines, on the real stories260K).
TEST(DataRootCli, QuickstartRunsWithARelativeDataRoot) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("data_root_quickstart"), model = dir + "/stories260K-hf";
  const std::string data = test::shared_data() + "/stories260K";
  auto convert = test::run_qlab({"convert", "--from", "llama2c", data + "/stories260K.bin", "--tokenizer",
                                 data + "/tok512.model", "--out", model});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  auto r = test::run_qlab({"run", "experiments/stories260k.yaml", "-q", "model.path=" + model, "output=" + dir + "/q.h5",
                           "data_root=experiments", "datasets.stories.text.path=data/stories_eval.txt",
                           "sweep.grid.method=[[], [{rtn: {w_bits: 4, a_bits: 4, kv_bits: 4}}]]"},
                          test::source_dir());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_all_complete(dir + "/q.h5", 2);
}

}  // namespace
}  // namespace qlab
