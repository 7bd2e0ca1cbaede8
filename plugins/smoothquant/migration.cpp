// The migration-strength table of plugins/smoothquant/migration.h.
#include "plugins/smoothquant/migration.h"

namespace qlab {

MigrationStrength smoothquant_alpha(const ModelConfig& c) {
  if (c.model_type == "mistral") return {0.8, "mistral"};
  if (c.model_type == "llama") {
    if (c.hidden_size == 8192) return {0.9, "llama 70B"};
    return {0.85, "llama 7B/8B/13B"};
  }
  return {0.5, "not in the table (" + c.model_type + "): the paper's default"};
}

}  // namespace qlab
