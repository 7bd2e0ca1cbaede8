// What one run produces: scalar metrics, per-sample arrays, stage timings.
// Evaluators fill it; the store writes it under /runs/<hash>/.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace qlab {

using Array = std::variant<std::vector<double>, std::vector<int64_t>, std::vector<std::string>>;

struct RunOutput {
  std::map<std::string, double> metrics;   // e.g. "wikitext2.ppl"
  std::map<std::string, Array> arrays;     // e.g. "wikitext2.window_nll"
  std::map<std::string, double> timing;    // seconds per stage, e.g. "method.gptq"
};

}  // namespace qlab
