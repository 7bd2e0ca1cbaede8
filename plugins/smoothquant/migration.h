// SmoothQuant's migration strength per model family: the values the
// SmoothQuant code uses for the models the papers compare on.
#pragma once
#include <string>

#include "core/model/config.h"

namespace qlab {

struct MigrationStrength {
  double alpha;
  std::string family;   // which entry of the table gave it, for the run's record
};

// LLaMA-2 7B/13B and LLaMA-3 8B: 0.85; LLaMA 70B (hidden size 8192): 0.9;
// Mistral: 0.8; any other model: 0.5, the SmoothQuant paper's default.
MigrationStrength smoothquant_alpha(const ModelConfig& config);

}  // namespace qlab
