// AAQ end to end on a real model pair built from stories260K: the aligned
// model is stories260K, the "base" the same model with its layers perturbed
// (test::perturbed_stories_base, a stand-in for the pre-trained checkpoint).
// The contrastive loss falls on held batches, both of its terms are logged
// every step, and a study without base_model is refused before work starts.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/store.h"
#include "stories.h"
#include "test_util.h"

namespace qlab {
namespace {

const std::string kGptq = "{gptq: {w_bits: 4, a_bits: 4, kv_bits: 4, dataset: stories, nsamples: 16, seqlen: 128}}";

TEST(Aaq, ContrastiveLossFallsAndBothTermsAreLogged) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("aaq");
  const std::string aaq = "{aaq: {dataset: stories, nsamples: 16, seqlen: 64, batch: 4, steps: 30, k_pull: 64, k_push: 32}}";
  auto r = test::run_qlab(
      {"run", test::write_study(dir, {"[" + aaq + ", " + kGptq + "]"}, "base_model: {path: " + test::perturbed_stories_base() + "}\n")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const RunRecord run = read_runs(dir + "/sq.h5").at(0);
  ASSERT_EQ(run.status, "complete") << run.error;
  const auto& m = run.output.metrics;
  EXPECT_LT(m.at("aaq.probe_loss_after"), m.at("aaq.probe_loss_before"));
  for (const char* term : {"aaq.pull", "aaq.push", "aaq.loss"})
    EXPECT_EQ(std::get<std::vector<double>>(run.output.arrays.at(term)).size(), 30u) << term;
  const auto& push = std::get<std::vector<double>>(run.output.arrays.at("aaq.push"));
  EXPECT_GT(push.front(), 0.0) << "the base model differs from the aligned one";
  std::cout << "AAQ on stories260K: APC loss (held batches) " << m.at("aaq.probe_loss_before") << " -> "
            << m.at("aaq.probe_loss_after") << ", W4A4KV4 ppl " << m.at("perplexity.ppl") << "\n";
}

TEST(Aaq, WithoutBaseModelIsRefusedBeforeWorkStarts) {
  QLAB_REQUIRE_SHARED_DATA();
  const std::string dir = test::temp_dir("aaq_bad");
  auto r = test::run_qlab({"run", test::write_study(dir, {"[{aaq: {dataset: stories, nsamples: 8, seqlen: 64}}, " + kGptq + "]"})});
  EXPECT_EQ(r.exit_code, kExitUsage) << r.err;
  EXPECT_NE(r.err.find("needs `base_model:`"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qlab
