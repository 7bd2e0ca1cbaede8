// A catalogue of bad studies run through the real binary (`qlab run STUDY
// --dry-run`): each must exit with code 2 and one line naming the file, the
// line:column where known, and what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "test_util.h"

namespace qlab {
namespace {

using test::test_plugins;

// "line:col" (1-based) of needle in text, counted by hand, outside `masked`
// (the test's temporary folder, whose random name may hold the needle:
// "qlab-study-errors-4..." holds "-4").
std::string line_col(std::string text, const std::string& needle, const std::string& masked) {
  for (size_t at = text.find(masked); !masked.empty() && at != std::string::npos; at = text.find(masked, at))
    text.replace(at, masked.size(), std::string(masked.size(), '#'));
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  int line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

struct StudyErrors : ::testing::Test {
  std::string dir = test::temp_dir("study-errors");
  std::string file = dir + "/s.yaml";

  void SetUp() override {
    if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)";
  }
  std::string valid() const {
    return "name: e\noutput: " + dir + "/r.h5\ndatasets:\n  lines: {test_lines: {count: 2}}\n"
           "method:\n  - test_scale: {factor: 2}\nevaluators:\n  - test_constant: {value: 3}\n";
  }
  // Replaces the first `from` in the valid study by `to`.
  std::string edited(const std::string& from, const std::string& to) const {
    std::string t = valid();
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  }
  test::CommandResult run(const std::string& text, std::vector<std::string> extra = {}) {
    test::write_file(file, text);
    std::vector<std::string> args = {"run", file};
    args.insert(args.end(), extra.begin(), extra.end());
    for (const char* a : {"--dry-run", "--plugin"}) args.push_back(a);
    args.push_back(test_plugins());
    return test::run_qlab(args, dir);
  }
  // Exit code 2 and a single line holding `where` (the located prefix) and `message`.
  void expect_error(const std::string& text, const std::string& where, const std::string& message,
                    std::vector<std::string> extra = {}) {
    auto r = run(text, extra);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find(where + ": " + message), std::string::npos) << "expected: " << where << ": " << message
                                                                     << "\ngot: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
};

TEST_F(StudyErrors, ValidStudyPasses) {
  auto r = run(valid());
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(StudyErrors, MalformedYaml) {
  std::string t = valid() + "sweep: {grid: [1, 2\n";
  auto r = run(t);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(file + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("malformed YAML"), std::string::npos) << r.err;
}

TEST_F(StudyErrors, UnknownTopLevelKey) {
  std::string t = edited("evaluators:", "evaluator:");
  expect_error(t, file + ":" + line_col(t, "evaluator:", dir), "unknown top-level key 'evaluator' (did you mean 'evaluators'?)");
}

TEST_F(StudyErrors, UnknownMethod) {
  std::string t = edited("test_scale:", "test_scal:");
  expect_error(t, file + ":" + line_col(t, "test_scal:", dir), "unknown method 'test_scal' (did you mean 'test_scale'?)");
}

TEST_F(StudyErrors, MisspeltParameter) {
  std::string t = edited("factor: 2", "fator: 2");
  expect_error(t, file + ":" + line_col(t, "fator", dir), "unknown key 'fator' for method 'test_scale' (did you mean 'factor'?)");
}

TEST_F(StudyErrors, WrongType) {
  std::string t = edited("factor: 2", "factor: big");
  expect_error(t, file + ":" + line_col(t, "big", dir), "'factor' for method 'test_scale': expected float, got 'big'");
}

TEST_F(StudyErrors, OutOfRange) {
  std::string t = edited("count: 2", "count: -4");
  expect_error(t, file + ":" + line_col(t, "-4", dir), "'count' for dataset 'test_lines' (data set 'lines'): -4 is out of range >= 0");
}

TEST_F(StudyErrors, BadChoice) {
  std::string t = valid() + "model: {path: " + dir + ", dtype: float64}\n";
  expect_error(t, file + ":" + line_col(t, "float64", dir),
               "'dtype' for model: 'float64' is not one of float32, bfloat16, float16");
}

TEST_F(StudyErrors, MissingRequired) {
  std::string t = valid() + "model: {dtype: float16}\n";
  expect_error(t, file + ":" + line_col(t, "model:", dir), "missing required key 'path' for model");
}

TEST_F(StudyErrors, ModelPathMissing) {
  std::string t = valid() + "model:\n  path: /nonexistent/llama\n";
  expect_error(t, file + ":" + line_col(t, "path: /nonexistent", dir), "model path '/nonexistent/llama' does not exist");
}

TEST_F(StudyErrors, UnwritableOutput) {
  test::write_file(dir + "/file", "a file, not a folder");
  std::string t = edited(dir + "/r.h5", dir + "/file/r.h5");
  expect_error(t, file + ":" + line_col(t, dir + "/file", ""),
               "output '" + dir + "/file/r.h5' cannot be created: '" + dir + "/file' is not a folder");
}

TEST_F(StudyErrors, EmptySweepAxis) {
  std::string t = valid() + "sweep:\n  grid:\n    method.0.test_scale.factor: []\n";
  expect_error(t, file + ":" + line_col(t, "method.0.test_scale.factor", dir),
               "sweep axis 'method.0.test_scale.factor' has no values (an empty list gives no runs)");
}

TEST_F(StudyErrors, ZipLengthMismatch) {
  std::string t = valid() + "sweep:\n  zip:\n    method.0.test_scale.factor: [1, 2]\n    evaluators.0.test_constant.value: [1]\n";
  expect_error(t, file + ":" + line_col(t, "evaluators.0.", dir),
               "zip axis 'evaluators.0.test_constant.value' has 1 values but 'method.0.test_scale.factor' has 2");
}

TEST_F(StudyErrors, BadOverridePath) {
  expect_error(valid(), file + ": override 'methd.0.x=1'", "there is no 'methd'", {"methd.0.x=1"});
}

TEST_F(StudyErrors, MalformedOverrideValue) {
  expect_error(valid(), file + ": override 'seed=[1'", "malformed YAML value", {"seed=[1"});
}

TEST_F(StudyErrors, DuplicatePlugin) {
  auto r = run(valid(), {"--plugin", test_plugins()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("plugin " + test_plugins() + ": method 'test_scale' is already registered"), std::string::npos)
      << r.err;
}

TEST_F(StudyErrors, NotAPlugin) {
  test::write_file(dir + "/fake.so", "not a library");
  auto r = run(valid(), {"--plugin", dir + "/fake.so"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("plugin " + dir + "/fake.so: not a loadable shared library"), std::string::npos) << r.err;
}

// Runs without evaluators would be complete with no metrics.
TEST_F(StudyErrors, NoEvaluators) {
  const std::string message =
      "no evaluators: every run would be complete with no metrics; list at least one under `evaluators:`";
  std::string t = edited("evaluators:\n  - test_constant: {value: 3}\n", "evaluators: []\n");
  expect_error(t, file + ":" + line_col(t, "[]", dir), message);
  expect_error(edited("evaluators:\n  - test_constant: {value: 3}\n", ""), file, message);
}

// A label prefixes metric names, which are HDF5 dataset names.
TEST_F(StudyErrors, UnusableEvaluatorLabel) {
  for (const std::string label : {"''", "a/b"}) {
    std::string t = edited("{value: 3}", "{value: 3, label: " + label + "}");
    const std::string shown = label == "''" ? "" : label;
    expect_error(t, file + ":" + line_col(t, "test_constant", dir),
                 "'label' for evaluator 'test_constant': '" + shown +
                     "' cannot prefix metric names (it must be non-empty, without '/')");
  }
}

// One range for every bit width, 2..8 or 16, checked at validation against the key written.
TEST_F(StudyErrors, BitWidthsOutsideTheirRange) {
  const std::string model = test::fixtures() + "/golden/llama2";
  for (const std::string key : {"w_bits", "a_bits", "kv_bits"})
    for (const std::string bits : {"1", "9", "33"}) {
      std::string t = edited("- test_scale: {factor: 2}", "- rtn: {" + key + ": " + bits + "}") + "model: {path: " + model + "}\n";
      expect_error(t, file + ":" + line_col(t, bits + "}", dir),
                   "'" + key + "' for method 'rtn': '" + bits + "' is not one of 2, 3, 4, 5, 6, 7, 8, 16");
    }
  std::string ok = edited("- test_scale: {factor: 2}", "- rtn: {w_bits: 16, a_bits: 8, kv_bits: 2, down_a_bits: 0}") +
                   "model: {path: " + model + "}\n";
  EXPECT_EQ(run(ok).exit_code, 0) << run(ok).err;
}

// The size of a sweep is checked before any run is built.
TEST_F(StudyErrors, SweepLargerThanTheBound) {
  std::string axis = "[";
  for (int i = 0; i < 1000; ++i) axis += (i ? ", " : "") + std::to_string(i);
  axis += "]";
  std::string t = valid() + "sweep:\n  grid:\n    method.0.test_scale.factor: " + axis + "\n    evaluators.0.test_constant.value: " + axis +
                  "\n  seeds: [1, 2]\n";
  expect_error(t, file + ":" + line_col(t, "sweep:", dir),
               "sweep: 2000000 runs, more than the bound of 100000 (qlab run --max-runs N raises it)");
  expect_error(t, file + ":" + line_col(t, "sweep:", dir), "sweep: 2000000 runs, more than the bound of 1000", {"--max-runs", "1000"});
}

TEST_F(StudyErrors, StudyIsAFolder) {
  auto r = test::run_qlab({"run", dir, "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab run: " + dir + ": is a folder, not a YAML file\n");
}

// The wrong-ABI plugin needs an out-of-tree build: see external_plugin_test.cpp.

}  // namespace
}  // namespace qlab
