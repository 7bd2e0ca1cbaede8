// `qlab make-corpus` through the binary: the files and their listing; bad
// options are exit 2 with one line, and leave an earlier corpus untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_util.h"

namespace qlab {
namespace {

void expect_usage_error(const test::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(MakeCorpusCli, WritesTheFilesAndListsThem) {
  std::string dir = test::temp_dir("make_corpus") + "/corpus";
  auto r = test::run_qlab({"make-corpus", "--out", dir, "--size", "small", "--seed", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"pretrain.txt", "heldout.txt", "base_chat.jsonl", "aligned_chat.jsonl", "harmful_eval.jsonl",
                           "benign_eval.jsonl", "nmix_en.jsonl", "nmix_es.jsonl", "nmix_ru.jsonl", "manifest.json"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(dir + "/" + name)) << name;
    EXPECT_NE(r.out.find(dir + "/" + name + ": "), std::string::npos) << r.out;
  }
  EXPECT_NE(test::read_file(dir + "/manifest.json").find("\"seed\": 3"), std::string::npos);
}

TEST(MakeCorpusCli, BadOptionsAreUsageErrorsAndKeepEarlierFiles) {
  std::string dir = test::temp_dir("make_corpus_bad");
  ASSERT_EQ(test::run_qlab({"make-corpus", "--out", dir, "--size", "small"}).exit_code, 0);
  std::string before = test::read_file(dir + "/pretrain.txt");
  expect_usage_error(test::run_qlab({"make-corpus", "--out", dir, "--size", "huge"}), "unknown size 'huge'");
  expect_usage_error(test::run_qlab({"make-corpus", "--out", dir, "--seed=-1"}), "--seed '-1'");
  expect_usage_error(test::run_qlab({"make-corpus", "--out", dir, "--seed", "x1"}), "--seed 'x1'");
  expect_usage_error(test::run_qlab({"make-corpus", "--size", "small"}), "needs --out");
  expect_usage_error(test::run_qlab({"make-corpus", "--out", dir, "--colour", "red"}), "colour");
  EXPECT_EQ(test::read_file(dir + "/pretrain.txt"), before);
  // A folder that cannot be made: its parent is a file.
  test::write_file(dir + "/plain", "x");
  expect_usage_error(test::run_qlab({"make-corpus", "--out", dir + "/plain/sub", "--size", "small"}),
                     dir + "/plain/sub: cannot create the output folder");
}

}  // namespace
}  // namespace qlab
