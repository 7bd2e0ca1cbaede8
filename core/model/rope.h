// Rotary position embedding, rotate-half form (Hugging Face's layout: the
// first and second halves of each head are the two coordinates of a pair).
#pragma once
#include "core/tensor.h"

#include "core/model/config.h"

namespace qlab {

// inv_freq[i] = 1 / theta^(2i / head_dim), i < head_dim / 2, float32 on the
// CPU, with the llama3 rescaling of low frequencies when rope.type == "llama3".
torch::Tensor rope_inv_freq(const RopeConfig& rope, int64_t head_dim);

// cos / sin of position * inv_freq, computed in float32 and cast to dtype:
// [B, T, head_dim] (the half-size table repeated twice).
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& position_ids,
                                                     torch::ScalarType dtype);

// x [B, heads, T, head_dim]; cos, sin [B, T, head_dim]:  x cos + rotate_half(x) sin,
// rotate_half(x) = (-x2, x1) for the halves x1, x2 of the last dimension.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace qlab
