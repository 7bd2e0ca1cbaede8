// Helpers shared by the test suites.
#pragma once
#include <string>
#include <vector>

#include "core/error.h"

namespace qlab::test {

// ../shared/data beside the checkout, or "" when absent (tests then GTEST_SKIP
// with a message naming the folder).
std::string shared_data();
std::string fixtures();                 // tests/fixtures
std::string source_dir();               // the checkout
std::string qlab_bin();                 // the built qlab executable
std::string bench_bin();                // the built qlab_bench executable
std::string test_plugins();             // the fixture plugin library (tests/fixture_plugins)

// A fresh empty folder under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs the built qlab binary with args (no shell quoting issues: args are quoted).
CommandResult run_qlab(const std::vector<std::string>& args, const std::string& workdir = "");
// Starts the built qlab binary with args in the background, its stdout and
// stderr appended to `log`; returns the child's pid (signal it, wait_exit it).
int start_qlab(const std::vector<std::string>& args, const std::string& log);
// Waits for a child; its exit code, or 128 + the signal that ended it.
int wait_exit(int pid);
// Runs a shell command line.
CommandResult run_shell(const std::string& command_line);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

// The message of the UsageError f() throws, or "(no UsageError)".
template <typename F>
std::string usage_error_of(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

}  // namespace qlab::test

#define QLAB_REQUIRE_SHARED_DATA()                                                   \
  if (::qlab::test::shared_data().empty()) GTEST_SKIP() << "../shared/data not found"
