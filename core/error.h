// Errors a user can fix. Each maps to one exit code and prints as one line.
#pragma once
#include <stdexcept>
#include <string>

namespace qlab {

// Exit codes of every qlab command.
enum ExitCode { kExitOk = 0, kExitRunsFailed = 1, kExitUsage = 2 };

// Bad input: configuration, command line, a malformed file. Exit code 2.
// The message is complete and one line, starting with the file (and line:column
// where known) it is about.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "file:line:column: message" (line and column 1-based; omitted when unknown).
std::string located(const std::string& file, int line, int column, const std::string& message);

}  // namespace qlab
