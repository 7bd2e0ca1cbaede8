// A relative data_root is resolved once, when the study loads, against the
// working directory: the check before the first run and the run itself read
// the same file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/engine/execute.h"
#include "core/engine/workspace.h"
#include "core/study.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

// Runs the test body from `dir`, back to where it was afterwards.
struct InFolder {
  explicit InFolder(const std::string& dir) : old(fs::current_path()) { fs::current_path(dir); }
  ~InFolder() { fs::current_path(old); }
  fs::path old;
};

TEST(DataRoot, RelativeRootResolvedOnceAgainstWorkingDirectory) {
  const std::string dir = test::temp_dir("data_root");
  test::write_file(dir + "/data/corpus/a.txt", "one two three\n");
  test::write_file(dir + "/s.yaml", "output: " + dir + "/r.h5\ndata_root: data\nmodel: {path: " + test::fixtures() +
                                    "/golden/llama2}\ndatasets: {a: {text: {path: corpus/a.txt}}}\n"
                                    "evaluators: [{perplexity: {dataset: a, seqlen: 8}}]\n");
  InFolder here(dir);
  Study study = load_study("s.yaml");
  const RunSpec& run = study.runs[0];
  const RunSteps steps = run.steps();
  // What the reader gets is absolute; the config keeps what the study wrote.
  EXPECT_EQ(steps.datasets.at("a").params.get_string("path"), dir + "/data/corpus/a.txt");
  EXPECT_EQ(run.config()["datasets"]["a"]["text"]["path"].Scalar(), "corpus/a.txt");
  EXPECT_EQ(run.config()["data_root"].Scalar(), "data");
  // The check before the first run, then the run: the second used to read data/data/corpus/a.txt.
  check_study_inputs(study);
  Workspace ws(run);
  EXPECT_EQ(ws.dataset("a").source, dir + "/data/corpus/a.txt");
  EXPECT_EQ(ws.dataset("a").text, "one two three\n");
  EXPECT_EQ(steps.datasets.at("a").params.get_string("path"), dir + "/data/corpus/a.txt");
}

TEST(DataRoot, AbsolutePathsAndNoRootUnchanged) {
  const std::string dir = test::temp_dir("data_root_abs");
  test::write_file(dir + "/b.txt", "b\n");
  test::write_file(dir + "/s.yaml", "output: " + dir + "/r.h5\ndata_root: /nowhere\n"
                                    "datasets: {b: {text: {path: " + dir + "/b.txt}}, c: {text: {path: c.txt}}}\n"
                                    "evaluators: [{perplexity: {dataset: b}}]\n");
  InFolder here(dir);
  Study with_root = load_study("s.yaml");
  EXPECT_EQ(with_root.runs[0].steps().datasets.at("b").params.get_string("path"), dir + "/b.txt");
  EXPECT_EQ(with_root.runs[0].steps().datasets.at("c").params.get_string("path"), "/nowhere/c.txt");
  Study without = load_study("s.yaml", {"data_root=''"});
  EXPECT_EQ(without.runs[0].steps().datasets.at("c").params.get_string("path"), dir + "/c.txt");
}

// Both paths of a parallel text are data paths.
TEST(DataRoot, EveryPathParameterOfAReader) {
  const std::string dir = test::temp_dir("data_root_parallel");
  test::write_file(dir + "/s.yaml", "output: " + dir + "/r.h5\ndata_root: d\n"
                                    "datasets: {p: {parallel_text: {path: x.de, target_path: x.en, language: de, "
                                    "target_language: en}}}\nevaluators: [{perplexity: {dataset: p}}]\n");
  InFolder here(dir);
  const Study study = load_study("s.yaml");
  const Params p = study.runs[0].steps().datasets.at("p").params;   // a copy: steps() is a temporary
  EXPECT_EQ(p.get_string("path"), dir + "/d/x.de");
  EXPECT_EQ(p.get_string("target_path"), dir + "/d/x.en");
}

// The cause of the doubled root: assigning one Params to another wrote
// through to the values the first one shared with others.
TEST(DataRoot, AssigningParamsLeavesTheOriginalAlone) {
  Params original("o", YAML::Load("{path: a}"));
  Params copy = original;
  copy = Params("o", YAML::Load("{path: b}"));
  EXPECT_EQ(original.get_string("path"), "a");
  EXPECT_EQ(copy.get_string("path"), "b");
}

}  // namespace
}  // namespace qlab
