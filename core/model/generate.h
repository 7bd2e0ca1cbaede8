// Scoring and generation on a Model: batched, left-padded, with a KV cache.
#pragma once
#include <cstdint>
#include <vector>

#include "core/model/decode.h"
#include "core/model/model.h"

namespace qlab {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  bool greedy = true;
  double temperature = 1.0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::vector<int64_t> stop_ids;   // generation of a row ends after it emits one of these
  int64_t pad_id = 0;
  DecodePath decode_path = DecodePath::Auto;   // how each token after the prompt is computed (decode.h)
};

// Generated ids per prompt (stop token included when one was hit).
std::vector<std::vector<int64_t>> generate(Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerateOptions& options);

// log p(ids[:, t] | ids[:, <t]) for t = 1..T-1 of ids [B, T]: [B, T-1] float64
// on the model's device. The head runs on a chunk of positions at a time
// (at most max_logits logits), so that the float32 logits of a long window over a
// large vocabulary (2048 x 128k: 1 GB, twice that in float64) never exist at
// once; each row is computed as the whole-window path computes it. On CUDA
// the log-softmax at the target is one kernel on the head's logits in the
// model's dtype (fused_ops.h), over chunks of the B * (T - 1) rows in the
// memory max_logits float32 logits and their float64 copies would take.
torch::Tensor next_token_logprobs(const Model& model, const torch::Tensor& ids, int64_t max_logits = int64_t(1) << 25);

// log p(ids[t] | ids[<t]) for t = 1..n-1, float64 on the CPU: [n-1].
torch::Tensor token_logprobs(Model& model, const std::vector<int64_t>& ids);

}  // namespace qlab
