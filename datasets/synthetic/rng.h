// The generator's random numbers: xoshiro256** seeded through splitmix64.
// Written out (not <random>'s distributions) because std::uniform_int_distribution
// and friends are implementation-defined: the same seed would give other text
// under libc++ or MSVC, and the corpus promises the same bytes everywhere.
#pragma once
#include <cstdint>
#include <vector>

namespace qlab::synthetic {

// splitmix64's mixing step: also used to hash a combination of choices
// (held-out partition) independently of any generator state.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : s_) s = seed = mix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n), n > 0: rejection sampling, so no modulo bias.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
  // Fisher-Yates with below(), for the same reason as above.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace qlab::synthetic
