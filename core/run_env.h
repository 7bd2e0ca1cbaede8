// Facts about where and when a run happened, recorded beside its results so a
// number in a table can be traced back to the code and machine that made it.
#pragma once
#include <chrono>
#include <string>

namespace qlab {

std::string qlab_version();   // QLAB_VERSION, e.g. "0.1.0"
std::string git_commit();     // HEAD of the source tree at configure time, or "unknown"
std::string host_name();      // gethostname(), or "unknown"

// ISO 8601 UTC with seconds, e.g. "2024-05-01T12:34:56Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);
std::string now_iso8601_utc();

}  // namespace qlab
