// External plugins through the real binary: the test plugins loaded with
// --plugin, and a plugin built out of tree from tests/plugins (also with a
// wrong ABI number, which must be refused).
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/registry.h"
#include "test_util.h"

namespace qlab {
namespace {

using test::test_plugins;

#define REQUIRE_TEST_PLUGINS() \
  if (test_plugins().empty()) GTEST_SKIP() << "QLAB_TEST_PLUGINS not set (run through ctest)"

TEST(ListCommand, ShowsLoadedPluginsWithTheirParameters) {
  REQUIRE_TEST_PLUGINS();
  auto r = test::run_qlab({"list", "--plugin", test_plugins()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("methods:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  test_scale: test method: does nothing with a factor\n"
                       "    factor (float, default 1.0, >= 0): scale factor (unused: the model is not touched)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    sleep_ms (int, default 0): milliseconds to wait first\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    label (string, default 'test_constant'): prefix of this evaluator's metric names\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  test_lines: "), std::string::npos) << r.out;
}

TEST(ListCommand, OneKindOnly) {
  REQUIRE_TEST_PLUGINS();
  auto r = test::run_qlab({"list", "evaluators", "--plugin", test_plugins()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("test_constant"), std::string::npos);
  EXPECT_EQ(r.out.find("test_scale"), std::string::npos);
  EXPECT_EQ(r.out.find("methods:"), std::string::npos);
}

TEST(ListCommand, UsageErrors) {
  auto r = test::run_qlab({"list", "method"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab list: unknown list 'method' (did you mean 'methods'?)\n");
  r = test::run_qlab({"list", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  r = test::run_qlab({"list", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--plugin"), std::string::npos);
}

TEST(ListCommand, PluginErrorsExitWithUsageCode) {
  REQUIRE_TEST_PLUGINS();
  auto r = test::run_qlab({"list", "--plugin", test_plugins(), "--plugin", test_plugins()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab list: plugin " + test_plugins() + ": method 'test_scale' is already registered\n");
  std::string text = test::temp_dir("notplugin") + "/notes.so";
  test::write_file(text, "hello\n");
  r = test::run_qlab({"list", "--plugin", text});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("qlab list: plugin " + text + ": not a loadable shared library", 0), 0u) << r.err;
  r = test::run_qlab({"list", "--plugin", "/nonexistent.so"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab list: plugin /nonexistent.so: no such file\n");
}

TEST(ListCommand, PluginPathFromEnvironment) {
  REQUIRE_TEST_PLUGINS();
  auto r = test::run_shell("QLAB_PLUGIN_PATH='" + test_plugins() + "' '" + test::qlab_bin() + "' list methods");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("test_scale"), std::string::npos);
}

// One test (each test runs in its own process): build once, check everything.
TEST(ExternalPlugin, BuiltOutOfTreeThenListedAndWrongAbiRefused) {
  std::string src = test::source_dir(), build = test::temp_dir("hello-plugin");
  auto b = test::run_shell("cmake -S '" + src + "/tests/plugins' -B '" + build + "' -DQLAB_SOURCE_DIR='" + src +
                           "' -DCMAKE_BUILD_TYPE=Release && cmake --build '" + build + "' --parallel 2");
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;

  std::string good = build + "/libhello_plugin.so", wrong = build + "/libhello_plugin_wrong_abi.so";
  auto r = test::run_qlab({"list", "--plugin", good});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  hello_method: out-of-tree example method (changes nothing)\n"
                       "    greeting (string, default hello): what the method would say\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    answer (float, default 42): the metric it reports\n"), std::string::npos) << r.out;

  r = test::run_qlab({"list", "--plugin", wrong});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "qlab list: plugin " + wrong + " was built for qlab plugin ABI 7, this qlab has " +
                       std::to_string(kPluginAbiVersion) + "\n");
}

}  // namespace
}  // namespace qlab
