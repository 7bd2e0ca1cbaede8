// AAQ's Alignment-Preserving Contrastive loss (Wee et al., 2025) on the
// next-token distributions at every position: pull the quantized model p_Q
// toward the aligned model p_FT on the tokens p_FT finds likely, push it away
// from the pre-trained base p_PT on the tokens where the two differ most:
//   S_top  = the k_pull most likely tokens under p_FT
//   S_diff = the k_push tokens of largest |p_FT - p_PT| (or |logit_FT - logit_PT|)
//   L = KL(p_FT || p_Q on S_top) - alpha KL(p_PT || p_Q on S_diff), mean over positions,
// each distribution renormalised over its subset (the paper). The authors'
// code differs in three ways, each a switch here: k_pull 1000, the push set
// chosen on logits, no renormalisation (then the subset sums of raw p and q).
#pragma once
#include "core/tensor.h"

#include <string>

namespace qlab {

struct ApcOptions {
  int64_t k_pull = 500, k_push = 500;
  double alpha = 0.75;
  bool renormalise = true;
  bool push_on_logits = false;   // false: |p_FT - p_PT| (paper); true: |logit difference| (code)
};

struct ApcTerms {
  torch::Tensor loss, pull, push;   // scalars; loss = pull - alpha * push
};

// What the loss needs of the two teachers, per position: S_top with log p_FT
// on it, S_diff with log p_PT on it ([N, k] each; N = positions). Small enough
// to compute once per calibration window and keep instead of the teachers
// (at 7B: 2 x 500 tokens x 8 bytes per position, against 2 x 32000 logits).
struct ApcTargets {
  torch::Tensor pull_index, pull_logp, push_index, push_logp;
};
ApcTargets apc_targets(const torch::Tensor& logits_ft, const torch::Tensor& logits_pt, const ApcOptions& options);
// The loss from targets; apc_loss(q, ft, pt, o) = apc_loss(q, apc_targets(ft, pt, o), o).
ApcTerms apc_loss(const torch::Tensor& logits_q, const ApcTargets& targets, const ApcOptions& options);

// logits [..., V] (any float dtype; computed in float32, float64 when q is); q carries the grad,
// ft and pt are constants.
ApcTerms apc_loss(const torch::Tensor& logits_q, const torch::Tensor& logits_ft, const torch::Tensor& logits_pt,
                  const ApcOptions& options);

// KL(p_teacher || p_Q) per position, mean over positions: over the whole
// vocabulary (top_k 0), or over the teacher's top_k tokens with both
// distributions renormalised there (OSTQuant's top-k variant). The
// pull-only APC loss (alpha 0, renormalised) is the top_k = k_pull case.
torch::Tensor teacher_kl(const torch::Tensor& logits_q, const torch::Tensor& logits_teacher, int64_t top_k);

}  // namespace qlab
