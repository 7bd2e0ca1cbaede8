// The real stories260K model converted once per test process, and studies
// over it with perplexity on the project's story text, for the learned-method
// tests.
#pragma once
#include <string>
#include <vector>

namespace qlab::test {

const std::string& stories_model();
// stories260K with its decoder linears perturbed (0.3 of each weight's std):
// the stand-in "pre-trained base" of the aligned stories260K, one vocabulary.
const std::string& perturbed_stories_base();
// A study in dir/sq.yaml writing dir/sq.h5, sweeping `pipelines` (YAML flow
// lists of steps); `extra` is more top-level YAML (e.g. a base_model line).
std::string write_study(const std::string& dir, const std::vector<std::string>& pipelines, const std::string& extra = "");

}  // namespace qlab::test
