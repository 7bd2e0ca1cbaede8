// Calibration windows for GPTQ-style methods: n random windows of seqlen
// tokens drawn from one tokenized corpus.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qlab {

// Start offsets of n windows, each start uniform in [0, len - seqlen - 1]
// (inclusive) as in GPTQ's reference loader, so every window [s, s + seqlen)
// lies inside the corpus (and one token past it exists, as that loader keeps).
// Deterministic given `seed` through std::mt19937_64 and a modulo-rejection draw; it does NOT reproduce Python's
// `random.randint` sequence, so the windows differ from the reference's.
// Throws UsageError "<what>: corpus has N tokens, fewer than seqlen + 1 = M"
// when no window fits; `what` names the corpus in that message.
std::vector<int64_t> sample_windows(const std::vector<int64_t>& tokens, int n, int seqlen, uint64_t seed,
                                    const std::string& what = "calibration corpus");
// sample_windows' checks alone, for a corpus of `length` tokens.
void check_windows_fit(int64_t length, int n, int seqlen, const std::string& what = "calibration corpus");

}  // namespace qlab
