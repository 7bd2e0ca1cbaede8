// The HDF5 results store: round trips, status bookkeeping, atomic replacement,
// and clear errors for files that are not qlab results.
#include "core/store.h"

#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace qlab;

namespace {

using test::usage_error_of;

RunRecord sample_run(const std::string& hash, const std::string& status = "complete") {
  RunRecord r;
  r.hash = hash;
  r.study = "unit";
  r.config = "model: {path: /m}\nmethod:\n  - rtn: {w_bits: 4}\n";
  r.axes = {{"method.0.rtn.w_bits", "4"}, {"seed", "7"}};
  r.index = 3;
  r.seed = 7;
  r.status = status;
  r.error = status == "failed" ? "it broke" : "";
  r.start_time = "2024-01-02T03:04:05Z";
  r.end_time = "2024-01-02T03:04:09Z";
  r.qlab_version = "0.1.0";
  r.git_commit = "abc123";
  r.host = "node1";
  r.device = "cpu";
  r.torch_version = "1.13.1";
  r.output.metrics = {{"perplexity.ppl", 5.25}, {"refusal.rate", 0.125}};
  r.output.timing = {{"method.rtn", 1.5}, {"total", 4.0}};
  r.output.arrays["nll"] = std::vector<double>{0.5, -1.25, 3e-8};
  r.output.arrays["flags"] = std::vector<int64_t>{1, 0, -9007199254740993LL};
  r.output.arrays["text"] = std::vector<std::string>{"plain", "héllo wörld", "日本語 🙂", ""};
  r.output.arrays["empty"] = std::vector<double>{};
  return r;
}

void expect_same(const RunRecord& a, const RunRecord& b) {
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.study, b.study);
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.axes, b.axes);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.start_time, b.start_time);
  EXPECT_EQ(a.end_time, b.end_time);
  EXPECT_EQ(a.qlab_version, b.qlab_version);
  EXPECT_EQ(a.git_commit, b.git_commit);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.torch_version, b.torch_version);
  EXPECT_EQ(a.output.metrics, b.output.metrics);
  EXPECT_EQ(a.output.timing, b.output.timing);
  EXPECT_EQ(a.output.arrays, b.output.arrays);
}

}  // namespace

TEST(Store, RoundTripsEveryFieldAndArrayType) {
  std::string file = test::temp_dir("store") + "/r.h5";
  RunRecord run = sample_run("00112233aabbccdd");
  Store(file, true).commit(run);
  auto runs = read_runs(file);
  ASSERT_EQ(runs.size(), 1u);
  expect_same(runs[0], run);
}

TEST(Store, LayoutIsReadableWithPlainHdf5) {
  std::string file = test::temp_dir("store") + "/r.h5";
  Store(file, true).commit(sample_run("feedfacefeedface"));
  try {
  H5::H5File f(file, H5F_ACC_RDONLY);
  std::string format;
  H5::StrType str(H5::PredType::C_S1, H5T_VARIABLE);
  str.setCset(H5T_CSET_UTF8);   // strings are stored as UTF-8; HDF5 will not convert them to ASCII
  f.openAttribute("format").read(str, format);
  EXPECT_EQ(format, "qlab-results");
  int64_t version = 0;
  f.openAttribute("format_version").read(H5::PredType::NATIVE_INT64, &version);
  EXPECT_EQ(version, 1);
  H5::Group run = f.openGroup("/runs/feedfacefeedface");
  std::string status;
  run.openAttribute("status").read(str, status);
  EXPECT_EQ(status, "complete");
  double ppl = 0;
  run.openDataSet("metrics/perplexity.ppl").read(&ppl, H5::PredType::NATIVE_DOUBLE);
  EXPECT_EQ(ppl, 5.25);
  EXPECT_EQ(run.openDataSet("arrays/flags").getTypeClass(), H5T_INTEGER);
  EXPECT_EQ(run.openDataSet("arrays/text").getStrType().getCset(), H5T_CSET_UTF8);
  } catch (const H5::Exception& e) {
    FAIL() << e.getFuncName() << ": " << e.getDetailMsg();
  }
}

TEST(Store, StatusesSurviveReopeningAndFailedRunsAreReplaced) {
  std::string file = test::temp_dir("store") + "/r.h5";
  {
    Store s(file, true);
    EXPECT_EQ(s.status("a"), "");
    s.commit(sample_run("a"));
    s.commit(sample_run("b", "failed"));
    EXPECT_EQ(s.status("a"), "complete");
    EXPECT_EQ(s.status("b"), "failed");
  }
  Store again(file, true);
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(again.status("a"), "complete");
  EXPECT_EQ(again.status("b"), "failed");

  RunRecord redo = sample_run("b");
  redo.output.metrics = {{"perplexity.ppl", 9.5}};
  again.commit(redo);
  auto runs = read_runs(file);
  ASSERT_EQ(runs.size(), 2u);   // replaced, not added
  EXPECT_EQ(runs[1].hash, "b");
  EXPECT_EQ(runs[1].status, "complete");
  EXPECT_EQ(runs[1].error, "");
  EXPECT_EQ(runs[1].output.metrics, redo.output.metrics);
  expect_same(runs[0], sample_run("a"));
}

TEST(Store, RemovesStaleTemporariesOfKilledWriters) {
  std::string dir = test::temp_dir("store");
  std::string file = dir + "/r.h5";
  Store(file, true).commit(sample_run("a"));
  test::write_file(file + ".tmp-123456", "half a file");
  test::write_file(dir + "/other.h5.tmp-1", "not ours");
  Store s(file, true);
  EXPECT_FALSE(fs::exists(file + ".tmp-123456"));
  EXPECT_TRUE(fs::exists(dir + "/other.h5.tmp-1"));
  EXPECT_EQ(s.status("a"), "complete");
}

TEST(Store, BadNamesAreRejectedBeforeTouchingTheFile) {
  RunOutput out;
  out.metrics["a/b"] = 1;
  EXPECT_THROW(check_output_names(out), std::invalid_argument);
  out.metrics.clear();
  out.arrays[""] = std::vector<double>{};
  EXPECT_THROW(check_output_names(out), std::invalid_argument);

  std::string file = test::temp_dir("store") + "/r.h5";
  Store s(file, true);
  s.commit(sample_run("a"));
  RunRecord bad = sample_run("b");
  bad.output.timing["x/y"] = 1;
  EXPECT_THROW(s.commit(bad), std::invalid_argument);
  EXPECT_EQ(read_runs(file).size(), 1u);
}

TEST(Store, ForeignAndDamagedFilesGiveOneLineErrors) {
  std::string dir = test::temp_dir("store");
  auto expect_not_results = [&](const std::string& file, const std::string& why) {
    for (std::string msg : {usage_error_of([&] { Store(file, false); }), usage_error_of([&] { read_runs(file); })}) {
      EXPECT_EQ(msg.rfind(file + ": not a qlab results file (", 0), 0u) << msg;
      EXPECT_NE(msg.find(why), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };

  test::write_file(dir + "/text.h5", "model: not hdf5 at all\n");
  expect_not_results(dir + "/text.h5", "not an HDF5 file");
  test::write_file(dir + "/empty.h5", "");
  expect_not_results(dir + "/empty.h5", "not an HDF5 file");
  fs::create_directories(dir + "/folder.h5");
  expect_not_results(dir + "/folder.h5", "not a regular file");

  {  // a valid HDF5 file that some other program wrote
    H5::H5File f(dir + "/foreign.h5", H5F_ACC_TRUNC);
    f.createGroup("runs");
  }
  expect_not_results(dir + "/foreign.h5", "qlab-results");

  std::string good = dir + "/good.h5";
  Store(good, true).commit(sample_run("a"));
  std::string bytes = test::read_file(good);
  test::write_file(dir + "/truncated.h5", bytes.substr(0, bytes.size() / 2));
  expect_not_results(dir + "/truncated.h5", "damaged");

  // Garbage over the metadata after the superblock: whatever HDF5 makes of
  // it, the answer is an error or a readable file, never a crash.
  std::string damaged = bytes;
  for (size_t i = 200; i < damaged.size() && i < 2000; i += 7) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
  test::write_file(dir + "/flipped.h5", damaged);
  try {
    read_runs(dir + "/flipped.h5");
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("not a qlab results file"), std::string::npos);
  }
}

TEST(Store, UnwritableOutputFailsBeforeAnyRun) {
  std::string dir = test::temp_dir("store");
  test::write_file(dir + "/plain", "a file, not a folder");
  std::string file = dir + "/plain/r.h5";
  std::string msg = usage_error_of([&] { Store(file, true); });
  EXPECT_EQ(msg.rfind(file + ": cannot write results (", 0), 0u) << msg;
  EXPECT_NO_THROW(Store(file, false));   // reading a missing file is fine: no runs
}

TEST(Store, ReadingAMissingFileIsAUsageError) {
  std::string file = test::temp_dir("store") + "/none.h5";
  EXPECT_EQ(usage_error_of([&] { read_runs(file); }), file + ": no such file");
}
