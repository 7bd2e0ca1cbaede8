// ROUGE-L: longest common subsequence between a candidate and a reference,
// over lower-cased whitespace tokens (words) or non-space characters (for
// zh/ja/th, where words are not space-delimited). Reported beside N-Mix: a
// right answer in the wrong language scores near 0 here.
#pragma once
#include <string_view>

#include "evaluation/common/text_norm.h"

namespace qlab {

struct RougeL {
  double precision = 0.0;   // LCS / candidate length
  double recall = 0.0;      // LCS / reference length
  double f1 = 0.0;          // 2PR / (P + R); 0 when the LCS is empty
};

RougeL rouge_l(std::string_view candidate, std::string_view reference, text::Units units = text::Units::Words);

}  // namespace qlab
