// Scaled dot-product attention with grouped-query heads, and the KV cache it
// reads (KVCache is declared in core/model/model.h).
#pragma once
#include "core/tensor.h"

namespace qlab {

// q [B, H, T, D]; k, v [B, KV, Tk, D] with H a multiple of KV (query head h
// reads kv head h / (H / KV)); mask bool [B or 1, 1, T, Tk] (true = may
// attend) or undefined (causal, the last query at key Tk - 1).
// softmax(q k^T / sqrt(D)) is taken in float32, then cast back before times v,
// as transformers' eager attention does. fused: use the LibTorch kernel where
// core/torch_compat.h has one, and for one query over a fixed-shape cache
// (last_key defined: int64 [1] on the device, the last key written) qlab's
// decode kernel (fused_ops.h), which reads only keys 0..last_key. Returns [B, H, T, D].
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool fused, const torch::Tensor& last_key = {});

}  // namespace qlab
