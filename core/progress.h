// Progress lines of a study: which run, how long so far, how long to go.
//   run 3/12 1f2e3d4c5b6a7980 method=gptq w_bits=4 | 12m05s | ETA 40m20s
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace qlab {

// Compact duration: "42s", "3m07s", "2h05m", "3d04h". Negative counts as 0.
std::string format_duration(double seconds);

// "k1=v1 k2=v2" in key order; "" when there are no axes.
std::string format_axes(const std::map<std::string, std::string>& axes);

// Estimated time left: the mean duration of the runs executed so far times the
// runs still to execute (the current one included). Unknown before the first
// run has finished, since model loading makes a guess from nothing worthless.
class Eta {
 public:
  explicit Eta(size_t to_execute) : remaining_(to_execute) {}
  void finished_one(double seconds);           // a run (complete or failed) ended
  void dropped_one();                          // a run left the list unexecuted (another process did it)
  std::optional<double> seconds_left() const;
  size_t remaining() const { return remaining_; }

 private:
  size_t remaining_;
  size_t done_ = 0;
  double done_seconds_ = 0;
};

std::string progress_line(size_t position, size_t total, const std::string& hash,
                          const std::string& axes, double elapsed_seconds,
                          std::optional<double> eta_seconds);

}  // namespace qlab
