// Whether training a model fits the memory: an estimate made before any
// tensor is allocated, and what the machine has free.
//  - weights, gradients and AdamW's two moments: 4 + 4 + 8 bytes a parameter
//    in float32; a lower-precision model adds its own weights and gradients
//    (2 + 2 bytes a parameter) beside the float32 masters;
//  - activations kept for the backward pass, per token and layer: about 16
//    hidden-size vectors (norms, q/k/v/o, residuals), 4 intermediate-size ones
//    (gate, up, their product, silu) and two attention rows per head (scores
//    and probabilities, seq_len long), in the model's dtype; plus float32
//    logits, their softmax and its gradient (3 vocab-size vectors a token).
// The estimate errs high (allocator slack, temporaries): refusal is meant
// for configurations that cannot fit, not to trim margins.
#pragma once
#include "core/tensor.h"

#include <cstdint>

#include "core/model/config.h"

namespace qlab {

int64_t count_parameters(const ModelConfig& config);
int64_t training_bytes(const ModelConfig& config, int64_t batch, int64_t seq_len, torch::ScalarType dtype);
// CPU: MemAvailable of /proc/meminfo; CUDA: cudaMemGetInfo's free bytes
// (looked up at run time in the CUDA runtime LibTorch loaded). -1: unknown.
int64_t available_bytes(torch::Device device);
// Throws UsageError "model config: training needs about X GiB (...) but only
// Y GiB are free on DEVICE; ..." when the estimate exceeds what is free.
void check_training_memory(const ModelConfig& config, int64_t batch, int64_t seq_len, torch::ScalarType dtype,
                           torch::Device device);

}  // namespace qlab
