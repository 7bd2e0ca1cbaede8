// "Did you mean" hints for misspelt keys and plugin names.
#pragma once
#include <string>
#include <vector>

namespace qlab {

// Edit distance counting insertions, deletions, substitutions and swaps of two
// neighbouring characters (the usual typos) as one edit each.
size_t edit_distance(const std::string& a, const std::string& b);

// " (did you mean 'x'?)" for the closest candidate within a few edits, else
// " (known: a, b, c)" listing them all, or "" when there are none.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace qlab
