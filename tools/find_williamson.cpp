// find_williamson: offline search for Williamson matrices of odd order n.
//
// Williamson's construction: four symmetric circulant +-1 matrices A, B, C, D
// of order n with A^2 + B^2 + C^2 + D^2 = 4n I, placed in the Williamson array,
// give a Hadamard matrix of order 4n. qlab stores the first rows this tool
// prints for n = 39 and 43 (orders 156 and 172) in core/quant/hadamard_tables.cpp.
//
// Not part of the build (standalone, no dependencies):
//   g++ -O2 -fopenmp -std=c++17 -o /tmp/find_williamson tools/find_williamson.cpp
//   /tmp/find_williamson 43        (n = 39: ~2 min on one core; n = 43: minutes on 16)
//
// Method:
//  - A symmetric sequence x (x_j = x_{n-j}) is fixed by x_0 and x_1..x_h,
//    h = (n-1)/2. Negating a matrix keeps its square, so x_0 = +1.
//  - The condition is: sum of the four periodic autocorrelations PAF(s) = 0
//    for s = 1..h (s and n-s agree by symmetry). Equivalently the power
//    spectral densities sum to 4n at every frequency, so any single sequence
//    (or pair) with PSD(k) > 4n somewhere can be discarded.
//  - Row sums: the row sums a, b, c, d are odd with a^2+b^2+c^2+d^2 = 4n; each
//    decomposition is searched separately.
//  - Multipliers: x_j -> x_{mj mod n} (m a unit mod n) applied to all four
//    keeps a solution a solution, so A is only taken minimal in its orbit.
//  - Meet in the middle: key PAF_A + PAF_B over pairs, then look up
//    -(PAF_C + PAF_D) over pairs of the other two. The key is a random linear
//    hash sum_s PAF(s) R_s (mod 2^64), so a pair's key is the sum of two
//    precomputed numbers; hits are verified exactly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

struct Candidate {
  uint32_t mask;                 // bit j-1 set <=> x_j = x_{n-j} = -1
  std::vector<float> psd;        // PSD(k), k = 1..h
  std::vector<int> paf;          // PAF(s), s = 1..h
  uint64_t key;                  // sum_s PAF(s) R_s mod 2^64
};

std::vector<uint64_t> hash_weights(int h) {
  std::mt19937_64 rng(12345);
  std::vector<uint64_t> r(h);
  for (auto& v : r) v = rng();
  return r;
}

std::vector<int> sequence(int n, uint32_t mask) {
  std::vector<int> x(n, 1);
  for (int j = 1; j <= (n - 1) / 2; ++j)
    if (mask >> (j - 1) & 1) x[j] = x[n - j] = -1;
  return x;
}

// All symmetric sequences with x_0 = 1, |row sum| = r and PSD <= 4n everywhere.
std::vector<Candidate> candidates(int n, int r) {
  const int h = (n - 1) / 2;
  const std::vector<uint64_t> weights = hash_weights(h);
  std::vector<std::vector<double>> cosine(h + 1, std::vector<double>(h + 1));
  for (int k = 1; k <= h; ++k)
    for (int j = 1; j <= h; ++j) cosine[k][j] = 2.0 * std::cos(2.0 * M_PI * j * k / n);
  std::vector<Candidate> out;
  for (uint32_t mask = 0; mask < (1u << h); ++mask) {
    const int minus = __builtin_popcount(mask);
    const int sum = 1 + 2 * (h - minus) - 2 * minus;
    if (std::abs(sum) != r) continue;
    std::vector<float> psd(h);
    bool ok = true;
    for (int k = 1; k <= h && ok; ++k) {
      double X = 1.0;
      for (int j = 1; j <= h; ++j) X += (mask >> (j - 1) & 1) ? -cosine[k][j] : cosine[k][j];
      psd[k - 1] = static_cast<float>(X * X);
      ok = X * X <= 4.0 * n + 1e-6;
    }
    if (!ok) continue;
    std::vector<int> x = sequence(n, mask);
    std::vector<int> paf(h);
    uint64_t key = 0;
    for (int s = 1; s <= h; ++s) {
      for (int i = 0; i < n; ++i) paf[s - 1] += x[i] * x[(i + s) % n];
      key += static_cast<uint64_t>(static_cast<int64_t>(paf[s - 1])) * weights[s - 1];
    }
    out.push_back({mask, std::move(psd), std::move(paf), key});
  }
  return out;
}

bool minimal_in_orbit(int n, uint32_t mask) {
  const int h = (n - 1) / 2;
  std::vector<int> x = sequence(n, mask);
  for (int m = 2; m < n; ++m) {
    if (std::gcd(m, n) != 1) continue;
    uint32_t image = 0;
    for (int j = 1; j <= h; ++j)
      if (x[(j * m) % n] < 0) image |= 1u << (j - 1);
    if (image < mask) return false;
  }
  return true;
}

bool psd_fits(const Candidate& u, const Candidate& v, int n) {
  const float limit = 4.0f * n + 1e-3f;
  for (size_t k = 0; k < u.psd.size(); ++k)
    if (u.psd[k] + v.psd[k] > limit) return false;
  return true;
}

bool paf_cancels(const Candidate& a, const Candidate& b, const Candidate& c, const Candidate& d) {
  for (size_t s = 0; s < a.paf.size(); ++s)
    if (a.paf[s] + b.paf[s] + c.paf[s] + d.paf[s] != 0) return false;
  return true;
}

void print_row(const char* name, int n, uint32_t mask) {
  std::printf("%s: ", name);
  for (int v : sequence(n, mask)) std::printf("%c", v > 0 ? '+' : '-');
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: find_williamson ODD_N (n <= 63)\n");
    return 2;
  }
  const int n = std::atoi(argv[1]);
  if (n < 3 || n % 2 == 0 || n > 63) {
    std::fprintf(stderr, "find_williamson: n must be odd, 3..63\n");
    return 2;
  }
  // Row sums a <= b <= c <= d, odd, squares summing to 4n.
  for (int a_sum = 1; a_sum * a_sum <= 4 * n; a_sum += 2)
    for (int b_sum = a_sum; a_sum * a_sum + b_sum * b_sum <= 4 * n; b_sum += 2)
      for (int c_sum = b_sum; a_sum * a_sum + b_sum * b_sum + c_sum * c_sum <= 4 * n; c_sum += 2) {
        const int rest = 4 * n - a_sum * a_sum - b_sum * b_sum - c_sum * c_sum;
        const int d_sum = static_cast<int>(std::lround(std::sqrt(rest)));
        if (d_sum < c_sum || d_sum * d_sum != rest) continue;
        std::fprintf(stderr, "row sums %d %d %d %d\n", a_sum, b_sum, c_sum, d_sum);
        std::vector<Candidate> la = candidates(n, a_sum), lb = candidates(n, b_sum);
        std::vector<Candidate> lc = candidates(n, c_sum), ld = candidates(n, d_sum);
        std::vector<Candidate> canonical;
        for (auto& u : la)
          if (minimal_in_orbit(n, u.mask)) canonical.push_back(u);
        std::fprintf(stderr, "  candidates %zu (canonical %zu) %zu %zu %zu\n", la.size(),
                     canonical.size(), lb.size(), lc.size(), ld.size());
        // (A, B) side: sorted (key, A index, B index).
        struct Half { uint64_t key; uint32_t a, b; };
        std::vector<Half> half;
        for (uint32_t i = 0; i < canonical.size(); ++i)
          for (uint32_t j = 0; j < lb.size(); ++j)
            if (psd_fits(canonical[i], lb[j], n)) half.push_back({canonical[i].key + lb[j].key, i, j});
        std::sort(half.begin(), half.end(), [](const Half& x, const Half& y) { return x.key < y.key; });
        std::fprintf(stderr, "  %zu (A,B) pairs\n", half.size());
        bool found = false;
#pragma omp parallel for schedule(dynamic, 16)
        for (size_t ic = 0; ic < lc.size(); ++ic) {
          if (found) continue;
          const Candidate& u = lc[ic];
          for (const Candidate& v : ld) {
            if (!psd_fits(u, v, n)) continue;
            const uint64_t want = 0 - (u.key + v.key);
            auto it = std::lower_bound(half.begin(), half.end(), want,
                                       [](const Half& x, uint64_t k) { return x.key < k; });
            for (; it != half.end() && it->key == want; ++it) {
              const Candidate& a = canonical[it->a];
              const Candidate& b = lb[it->b];
              if (!paf_cancels(a, b, u, v)) continue;
#pragma omp critical
              if (!found) {
                found = true;
                std::printf("n = %d, row sums %d %d %d %d\n", n, a_sum, b_sum, c_sum, d_sum);
                print_row("A", n, a.mask);
                print_row("B", n, b.mask);
                print_row("C", n, u.mask);
                print_row("D", n, v.mask);
              }
            }
          }
        }
        if (found) return 0;
      }
  std::fprintf(stderr, "no solution found\n");
  return 1;
}
