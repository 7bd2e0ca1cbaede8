// Hadamard matrices (+-1 entries, H H^T = m I) built by proven constructions:
//   Sylvester doubling   H_2m = [[H, H], [H, -H]]
//   Paley I              order q + 1,    q a prime power = 3 (mod 4)
//   Paley II             order 2(q + 1), q a prime power = 1 (mod 4)
//   Williamson           order 4n from four symmetric circulant matrices whose
//                        first rows are stored (found by tools/find_williamson.cpp)
// docs/hadamard.md lists which construction gives which order.
// Plain integers, no tensors: core/quant/hadamard.h turns them into transforms.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qlab {

struct SignMatrix {
  int64_t n = 0;
  std::vector<int8_t> entries;   // row-major n x n, each +1 or -1
  int8_t at(int64_t i, int64_t j) const { return entries[i * n + j]; }
};

// A Hadamard matrix of order m, or nullopt when no construction here reaches m.
// `how` (optional) receives the construction, e.g. "Paley I, q = 43".
std::optional<SignMatrix> construct_hadamard(int64_t m, std::string* how = nullptr);

// Odd orders n with stored Williamson first rows (the matrices have order 4n).
std::vector<int64_t> williamson_orders();

}  // namespace qlab
