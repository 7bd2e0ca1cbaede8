#include "evaluation/common/rouge.h"

#include <algorithm>
#include <vector>

namespace qlab {

static std::vector<std::string> lowered_units(std::string_view s, text::Units units) {
  std::u32string cps = text::decode_utf8(s);
  for (auto& c : cps) c = text::to_lower(c);
  return text::split_units(text::encode_utf8(cps), units);
}

RougeL rouge_l(std::string_view candidate, std::string_view reference, text::Units units) {
  std::vector<std::string> a = lowered_units(candidate, units), b = lowered_units(reference, units);
  // LCS length by dynamic programming, one row at a time.
  std::vector<int> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  int lcs = prev[b.size()];
  RougeL r;
  if (lcs == 0) return r;
  r.precision = static_cast<double>(lcs) / a.size();
  r.recall = static_cast<double>(lcs) / b.size();
  r.f1 = 2 * r.precision * r.recall / (r.precision + r.recall);
  return r;
}

}  // namespace qlab
