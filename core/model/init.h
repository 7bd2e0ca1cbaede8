// A new model from a ModelConfig, initialised as transformers' LLaMA
// _init_weights does: every matrix (the embedding included) drawn from
// normal(0, std) with std = initializer_range (0.02), RMSNorm scales 1,
// biases 0; lm_head shares the embedding when the config ties them.
// On the CPU in float32, reproducible from seed (a private generator: the
// global one is left alone).
#pragma once
#include <cstdint>

#include "core/model/model.h"

namespace qlab {

Model init_model(const ModelConfig& config, uint64_t seed, double std = 0.02);

}  // namespace qlab
