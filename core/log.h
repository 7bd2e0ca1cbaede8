// Logging set-up for qlab commands: spdlog's default logger writes to stderr
// and, when a file is given, also appends everything (debug included) to it, so
// a study's log sits beside its results even when the terminal scrolled away.
#pragma once
#include <string>

namespace qlab {

enum class Verbosity { Quiet, Normal, Verbose };   // -q: warnings only, -v: debug

// Replaces the default logger. `log_file` empty: stderr only. Throws
// UsageError "FILE: cannot open log file (reason)" when it cannot be opened.
void setup_logging(Verbosity verbosity, const std::string& log_file = "");

}  // namespace qlab
