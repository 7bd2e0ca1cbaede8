#include "datasets/calibration.h"

#include <random>

#include "core/error.h"

namespace qlab {

// Uniform integer in [0, bound] by rejection: std::uniform_int_distribution's
// algorithm is implementation-defined, which would make the windows depend on
// the standard library; this draw depends only on mt19937_64's output.
static uint64_t uniform_upto(std::mt19937_64& rng, uint64_t bound) {
  if (bound == UINT64_MAX) return rng();
  uint64_t range = bound + 1;
  uint64_t limit = UINT64_MAX - (UINT64_MAX % range);   // largest multiple of range
  uint64_t x;
  do x = rng(); while (x >= limit);
  return x % range;
}

void check_windows_fit(int64_t len, int n, int seqlen, const std::string& what) {
  if (n < 0 || seqlen <= 0)
    throw UsageError(what + ": need n >= 0 and seqlen > 0 (got n = " + std::to_string(n) +
                     ", seqlen = " + std::to_string(seqlen) + ")");
  if (len < static_cast<int64_t>(seqlen) + 1)
    throw UsageError(what + ": corpus has " + std::to_string(len) + " tokens, fewer than seqlen + 1 = " +
                     std::to_string(seqlen + 1) + " needed for one calibration window");
}

std::vector<int64_t> sample_windows(const std::vector<int64_t>& tokens, int n, int seqlen, uint64_t seed,
                                    const std::string& what) {
  const int64_t len = static_cast<int64_t>(tokens.size());
  check_windows_fit(len, n, seqlen, what);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> starts(n);
  for (auto& s : starts) s = static_cast<int64_t>(uniform_upto(rng, static_cast<uint64_t>(len - seqlen - 1)));
  return starts;
}

}  // namespace qlab
