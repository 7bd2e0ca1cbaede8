#include "core/run_env.h"

#include <unistd.h>

#include <ctime>

// QLAB_GIT_COMMIT is set by CMake from `git rev-parse HEAD` when it configures
// the build; a tree that is not a git checkout builds with "unknown".
#ifndef QLAB_GIT_COMMIT
#define QLAB_GIT_COMMIT "unknown"
#endif

namespace qlab {

std::string qlab_version() { return QLAB_VERSION; }

std::string git_commit() {
  std::string c = QLAB_GIT_COMMIT;
  return c.empty() ? "unknown" : c;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "unknown";
  return buf;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string now_iso8601_utc() { return iso8601_utc(std::chrono::system_clock::now()); }

}  // namespace qlab
