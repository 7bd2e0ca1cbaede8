// SHA-256, used to name runs by their resolved config and to fingerprint the
// files they read.
//
// Written here (FIPS 180-4) because none of the project's libraries exposes a
// hash: linking OpenSSL for ~80 lines of arithmetic is not worth the dependency.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace qlab {

// Incremental: update() with the data in pieces, then hex() once.
class Sha256 {
 public:
  Sha256();
  void update(const char* data, size_t n);
  std::string hex();   // the 64 lower-case hex digits; ends the computation

 private:
  std::array<uint32_t, 8> h_;
  std::string pending_;   // < 64 bytes not yet mixed in
  uint64_t total_ = 0;
};

// The 64 lower-case hex digits of SHA-256(data).
std::string sha256_hex(const std::string& data);

}  // namespace qlab
