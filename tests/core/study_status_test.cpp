// `qlab status`'s view of a study: runs across its files and locks, counts,
// compute time, and the three formats.
#include "core/study_status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/run_lock.h"
#include "core/shards.h"
#include "core/store.h"
#include "test_util.h"

using namespace qlab;

namespace {

RunRecord record(const std::string& hash, const std::string& status, double seconds, const std::string& end) {
  RunRecord r;
  r.hash = hash;
  r.status = status;
  r.error = status == "failed" ? "broke, badly" : "";
  r.end_time = end;
  r.output.timing["total"] = seconds;
  return r;
}

}  // namespace

TEST(StudyStatus, RunsAcrossFilesAndLocksWithCountsAndComputeTime) {
  std::string dir = test::temp_dir("status");
  Study study;
  study.output = dir + "/r.h5";
  for (std::string hash : {"a1", "b2", "c3", "d4", "e5"}) {
    RunSpec r;
    r.hash = hash;
    r.axes = {{"x", hash}};
    study.runs.push_back(r);
  }
  Store(study.output, true).commit(record("a1", "complete", 2.0, "2024-01-01T00:00:01Z"));
  Store(study.output, true).commit(record("b2", "failed", 0.5, "2024-01-01T00:00:02Z"));
  // c3 failed in a shard file, then completed by a worker: done, from the worker's file.
  Store(shard_output(study.output, 1, 2), true).commit(record("c3", "failed", 1.0, "2024-01-01T00:00:03Z"));
  Store(worker_output(study.output, 0), true).commit(record("c3", "complete", 4.0, "2024-01-01T00:00:04Z"));
  auto running = RunLock::try_take(lock_folder(study.output), "d4");
  ASSERT_TRUE(running.has_value());

  StudyStatus s = study_status(study);
  ASSERT_EQ(s.runs.size(), 5u);
  EXPECT_EQ(s.runs[0].state, "done");
  EXPECT_EQ(s.runs[0].detail, study.output);
  EXPECT_EQ(s.runs[1].state, "failed");
  EXPECT_EQ(s.runs[1].detail, "broke, badly");
  EXPECT_EQ(s.runs[2].state, "done");
  EXPECT_EQ(s.runs[2].detail, dir + "/r.w0.h5");
  EXPECT_EQ(s.runs[2].seconds, 4.0);
  EXPECT_EQ(s.runs[3].state, "running");
  EXPECT_NE(s.runs[3].detail.find("pid "), std::string::npos);
  EXPECT_EQ(s.runs[4].state, "missing");
  EXPECT_EQ(s.done, 2u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.running, 1u);
  EXPECT_EQ(s.missing, 1u);
  EXPECT_DOUBLE_EQ(s.compute_seconds, 2.0 + 0.5 + 4.0);

  std::string md = format_status(s, StatusFormat::Markdown);
  EXPECT_NE(md.find("| 1 | b2 | failed | 0.5 | x=b2 | broke, badly |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("\n5 runs: 2 done, 1 failed, 1 running, 1 missing; compute time 7s\n"), std::string::npos) << md;
  std::string csv = format_status(s, StatusFormat::Csv);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "index,hash,status,seconds,axes,detail");
  EXPECT_NE(csv.find("\n1,b2,failed,0.5,x=b2,\"broke, badly\"\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n4,e5,missing,0.0,x=e5,\n"), std::string::npos) << csv;
  auto json = nlohmann::json::parse(format_status(s, StatusFormat::Json));
  EXPECT_EQ(json["counts"]["done"], 2);
  EXPECT_EQ(json["counts"]["running"], 1);
  EXPECT_EQ(json["runs"][4]["status"], "missing");
  EXPECT_DOUBLE_EQ(json["compute_seconds"].get<double>(), 6.5);

  running.reset();
  EXPECT_EQ(study_status(study).runs[3].state, "missing");   // nobody holds it any more
  EXPECT_THROW(parse_status_format("xml"), UsageError);
}
