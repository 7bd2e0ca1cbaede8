// SHA-256, used to name runs by their resolved config.
//
// Written here (FIPS 180-4) because none of the project's libraries exposes a
// hash: linking OpenSSL for ~80 lines of arithmetic is not worth the dependency.
#pragma once
#include <string>

namespace qlab {

// The 64 lower-case hex digits of SHA-256(data).
std::string sha256_hex(const std::string& data);

}  // namespace qlab
