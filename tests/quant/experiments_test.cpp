// The paper-table studies in experiments/ load and expand as documented.
#include <gtest/gtest.h>

#include <set>

#include "core/study.h"
#include "test_util.h"

namespace qlab {
namespace {

TEST(Experiments, QuarotTableExpandsToItsFourteenRows) {
  const std::string model = test::fixtures() + "/golden/llama2";
  Study s = load_study(test::source_dir() + "/experiments/quarot_table.yaml",
                       {"model.path=" + model, "data_root=/data/wikitext-2-raw"});
  ASSERT_EQ(s.runs.size(), 14u);
  std::set<std::string> rows, hashes;
  for (const RunSpec& r : s.runs) {
    const std::string precision = r.config["tags"]["precision"].Scalar();
    rows.insert(r.axes.at("method") + " " + precision);
    hashes.insert(r.hash);
    // The tag says what the quantization step does.
    int a_bits = 16, kv_bits = 16, w_bits = 16;
    for (const Step& step : r.methods)
      if (step.plugin == "rtn" || step.plugin == "gptq") {
        w_bits = int(step.params.get_int("w_bits"));
        a_bits = int(step.params.get_int("a_bits"));
        kv_bits = int(step.params.get_int("kv_bits"));
        EXPECT_TRUE(step.params.get_bool("w_clip_search"));
      }
    const std::string expected = "W" + std::to_string(w_bits) + "A" + std::to_string(a_bits) +
                                 (kv_bits < 16 ? "KV" + std::to_string(kv_bits) : "");
    EXPECT_EQ(precision, expected) << r.axes.at("method");
  }
  EXPECT_EQ(hashes.size(), 14u);
  for (const char* m : {"rtn", "gptq", "quarot+rtn", "quarot+gptq"})
    for (const char* p : {"W4A16", "W4A8", "W4A4KV4"}) EXPECT_TRUE(rows.count(std::string(m) + " " + p)) << m << " " << p;
  EXPECT_TRUE(rows.count("none W16A16"));
  EXPECT_TRUE(rows.count("quarot W16A16"));
}

}  // namespace
}  // namespace qlab
