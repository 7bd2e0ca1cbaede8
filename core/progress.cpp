#include "core/progress.h"

#include <cmath>
#include <cstdio>

namespace qlab {

std::string format_duration(double seconds) {
  long s = std::isfinite(seconds) && seconds > 0 ? std::lround(seconds) : 0;
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s % 3600 / 60);
  else std::snprintf(buf, sizeof buf, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
  return buf;
}

std::string format_axes(const std::map<std::string, std::string>& axes) {
  std::string s;
  for (const auto& [k, v] : axes) s += (s.empty() ? "" : " ") + k + "=" + v;
  return s;
}

void Eta::finished_one(double seconds) {
  if (remaining_ > 0) --remaining_;
  ++done_;
  done_seconds_ += seconds;
}

void Eta::dropped_one() {
  if (remaining_ > 0) --remaining_;
}

std::optional<double> Eta::seconds_left() const {
  if (done_ == 0) return std::nullopt;
  return done_seconds_ / done_ * remaining_;
}

std::string progress_line(size_t position, size_t total, const std::string& hash,
                          const std::string& axes, double elapsed_seconds,
                          std::optional<double> eta_seconds) {
  std::string s = "run " + std::to_string(position) + "/" + std::to_string(total) + " " + hash;
  if (!axes.empty()) s += " " + axes;
  s += " | " + format_duration(elapsed_seconds);
  s += " | ETA " + (eta_seconds ? format_duration(*eta_seconds) : std::string("?"));
  return s;
}

}  // namespace qlab
