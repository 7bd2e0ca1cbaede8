#include "core/quant/hadamard_tables.h"

#include <array>

namespace qlab {
namespace {

// ---- Finite field GF(p^k) -------------------------------------------------
// Elements are the integers 0..q-1, read as polynomials over GF(p) of degree
// < k (digit i in base p = coefficient of x^i), multiplied modulo a monic
// irreducible polynomial of degree k. Only what Paley needs: subtraction and
// the quadratic character.
class GaloisField {
 public:
  GaloisField(int64_t p, int64_t k) : p_(p), k_(k), q_(1) {
    for (int64_t i = 0; i < k; ++i) q_ *= p;
    find_modulus();
    square_.assign(q_, false);
    for (int64_t a = 1; a < q_; ++a) square_[mul(a, a)] = true;
  }
  int64_t size() const { return q_; }
  int64_t sub(int64_t a, int64_t b) const {
    int64_t r = 0, place = 1;
    for (int64_t i = 0; i < k_; ++i, a /= p_, b /= p_, place *= p_)
      r += (((a % p_) - (b % p_) + p_) % p_) * place;
    return r;
  }
  // Quadratic character: 0 at 0, +1 on non-zero squares, -1 otherwise.
  int chi(int64_t a) const { return a == 0 ? 0 : (square_[a] ? 1 : -1); }

 private:
  std::vector<int64_t> digits(int64_t a) const {
    std::vector<int64_t> d(k_);
    for (int64_t i = 0; i < k_; ++i, a /= p_) d[i] = a % p_;
    return d;
  }
  int64_t mul(int64_t a, int64_t b) const {
    std::vector<int64_t> x = digits(a), y = digits(b), prod(2 * k_ - 1, 0);
    for (int64_t i = 0; i < k_; ++i)
      for (int64_t j = 0; j < k_; ++j) prod[i + j] = (prod[i + j] + x[i] * y[j]) % p_;
    // x^k = -(modulus_[0] + ... + modulus_[k-1] x^(k-1)); reduce from the top.
    for (int64_t d = 2 * k_ - 2; d >= k_; --d) {
      const int64_t c = prod[d];
      prod[d] = 0;
      for (int64_t i = 0; i < k_; ++i)
        prod[d - k_ + i] = ((prod[d - k_ + i] - c * modulus_[i]) % p_ + p_) % p_;
    }
    int64_t r = 0;
    for (int64_t i = k_ - 1; i >= 0; --i) r = r * p_ + prod[i];
    return r;
  }
  // The first monic polynomial (in counting order of its lower coefficients)
  // whose quotient ring has no zero divisors, i.e. is irreducible.
  void find_modulus() {
    for (int64_t code = 0;; ++code) {
      modulus_ = digits(code);
      if (k_ == 1) return;                   // x - 0: arithmetic mod p
      bool field = true;
      for (int64_t a = 1; a < q_ && field; ++a)
        for (int64_t b = a; b < q_ && field; ++b) field = mul(a, b) != 0;
      if (field) return;
    }
  }
  int64_t p_, k_, q_;
  std::vector<int64_t> modulus_;
  std::vector<bool> square_;
};

// q = p^k with p prime: returns {p, k}, or {0, 0} when q is not a prime power.
std::pair<int64_t, int64_t> prime_power(int64_t q) {
  if (q < 2) return {0, 0};
  int64_t p = 2;
  while (p * p <= q && q % p != 0) ++p;
  if (q % p != 0) p = q;                     // q itself is prime
  int64_t k = 0;
  while (q % p == 0) q /= p, ++k;
  return q == 1 ? std::make_pair(p, k) : std::make_pair(int64_t{0}, int64_t{0});
}

std::string field_name(int64_t q) {
  auto [p, k] = prime_power(q);
  std::string s = "q = " + std::to_string(q);
  if (k > 1) s += " = " + std::to_string(p) + "^" + std::to_string(k);
  return s;
}

// Jacobsthal matrix Q[a][b] = chi(a - b) over GF(q).
std::vector<int> jacobsthal(const GaloisField& f) {
  const int64_t q = f.size();
  std::vector<int> Q(q * q);
  for (int64_t a = 0; a < q; ++a)
    for (int64_t b = 0; b < q; ++b) Q[a * q + b] = f.chi(f.sub(a, b));
  return Q;
}

// Paley I, q = 3 (mod 4): Q is skew, H = I + [[0, 1^T], [-1, Q]].
SignMatrix paley_one(int64_t q) {
  auto [p, k] = prime_power(q);
  const std::vector<int> Q = jacobsthal(GaloisField(p, k));
  SignMatrix h{q + 1, std::vector<int8_t>((q + 1) * (q + 1))};
  for (int64_t i = 0; i <= q; ++i)
    for (int64_t j = 0; j <= q; ++j) {
      int s = i == 0 ? (j == 0 ? 0 : 1) : (j == 0 ? -1 : Q[(i - 1) * q + (j - 1)]);
      h.entries[i * h.n + j] = static_cast<int8_t>(s + (i == j ? 1 : 0));
    }
  return h;
}

// Paley II, q = 1 (mod 4): Q is symmetric, S = [[0, 1^T], [1, Q]]; each 0 of S
// becomes [[1, -1], [-1, -1]] and each +-1 becomes +-[[1, 1], [1, -1]].
SignMatrix paley_two(int64_t q) {
  auto [p, k] = prime_power(q);
  const std::vector<int> Q = jacobsthal(GaloisField(p, k));
  const int64_t s_n = q + 1;
  SignMatrix h{2 * s_n, std::vector<int8_t>(4 * s_n * s_n)};
  static const int zero_block[2][2] = {{1, -1}, {-1, -1}};
  static const int one_block[2][2] = {{1, 1}, {1, -1}};
  for (int64_t i = 0; i < s_n; ++i)
    for (int64_t j = 0; j < s_n; ++j) {
      const int s = i == 0 ? (j == 0 ? 0 : 1) : (j == 0 ? 1 : Q[(i - 1) * q + (j - 1)]);
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c)
          h.entries[(2 * i + r) * h.n + 2 * j + c] =
              static_cast<int8_t>(s == 0 ? zero_block[r][c] : s * one_block[r][c]);
    }
  return h;
}

SignMatrix doubling(const SignMatrix& a) {
  SignMatrix h{2 * a.n, std::vector<int8_t>(4 * a.n * a.n)};
  for (int64_t i = 0; i < h.n; ++i)
    for (int64_t j = 0; j < h.n; ++j) {
      const int sign = (i >= a.n && j >= a.n) ? -1 : 1;
      h.entries[i * h.n + j] = static_cast<int8_t>(sign * a.at(i % a.n, j % a.n));
    }
  return h;
}

// First rows of four symmetric circulant +-1 matrices A, B, C, D of odd order
// n with A^2 + B^2 + C^2 + D^2 = 4n I. Found by tools/find_williamson.cpp
// (meet-in-the-middle over symmetric sequences, see that file); '+' = 1.
struct WilliamsonRows {
  int64_t n;
  std::array<const char*, 4> rows;
};
const WilliamsonRows kWilliamson[] = {
    {39,
     {"+-++------++--+-+-++++-+-+--++------++-", "++--+++-+--++-+----------+-++--+-+++--+",
      "+---+--++++----+-+-++-+-+----++++--+---", "+---+---+-++-++----++----++-++-+---+---"}},
    {43,
     {"++---+-+--++--+---++++++++---+--++--+-+---+", "+------++-+---++++-++--++-++++---+-++------",
      "+----++++-+--+--+-+--++--+-+--+--+-++++----", "+-++++--++--+-+-+-++++++++-+-+-+--++--++++-"}},
};

// Williamson array [[A, B, C, D], [-B, A, -D, C], [-C, D, A, -B], [-D, -C, B, A]]:
// the blocks commute (circulant) and are symmetric, so H H^T = (sum X^2) x I = 4n I.
SignMatrix williamson(const WilliamsonRows& w) {
  static const int which[4][4] = {{0, 1, 2, 3}, {1, 0, 3, 2}, {2, 3, 0, 1}, {3, 2, 1, 0}};
  static const int sign[4][4] = {{1, 1, 1, 1}, {-1, 1, -1, 1}, {-1, 1, 1, -1}, {-1, -1, 1, 1}};
  const int64_t n = w.n;
  SignMatrix h{4 * n, std::vector<int8_t>(16 * n * n)};
  for (int br = 0; br < 4; ++br)
    for (int bc = 0; bc < 4; ++bc)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const int x = w.rows[which[br][bc]][(j - i + n) % n] == '+' ? 1 : -1;
          h.entries[(br * n + i) * h.n + bc * n + j] = static_cast<int8_t>(sign[br][bc] * x);
        }
  return h;
}

}  // namespace

std::vector<int64_t> williamson_orders() {
  std::vector<int64_t> out;
  for (const auto& w : kWilliamson) out.push_back(w.n);
  return out;
}

std::optional<SignMatrix> construct_hadamard(int64_t m, std::string* how) {
  std::string built;
  std::optional<SignMatrix> h;
  if (m == 1) {
    built = "trivial";
    h = SignMatrix{1, {1}};
  } else if (m == 2) {
    built = "Sylvester";
    h = SignMatrix{2, {1, 1, 1, -1}};
  } else if (m < 4 || m % 4 != 0) {
    return std::nullopt;                       // no Hadamard matrix of such order exists
  } else if ((m & (m - 1)) == 0) {
    built = "Sylvester";
    h = doubling(*construct_hadamard(m / 2));
  } else if (prime_power(m - 1).first && (m - 1) % 4 == 3) {
    built = "Paley I, " + field_name(m - 1);
    h = paley_one(m - 1);
  } else if (prime_power(m / 2 - 1).first && (m / 2 - 1) % 4 == 1) {
    built = "Paley II, " + field_name(m / 2 - 1);
    h = paley_two(m / 2 - 1);
  } else {
    for (const auto& w : kWilliamson) {
      if (4 * w.n != m) continue;
      built = "Williamson, n = " + std::to_string(w.n);
      h = williamson(w);
    }
    std::string half_how;
    if (!h) {
      if (auto half = construct_hadamard(m / 2, &half_how)) {
        built = "doubling of order " + std::to_string(m / 2) + " (" + half_how + ")";
        h = doubling(*half);
      }
    }
  }
  if (h && how) *how = built;
  return h;
}

}  // namespace qlab
