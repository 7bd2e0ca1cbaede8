#include "core/learn/apc_loss.h"

#include <stdexcept>

namespace qlab {

namespace {
// KL(p || q) over the index set `idx` of each row: with renormalisation both
// distributions are taken relative to their mass on the set.
torch::Tensor subset_kl(const torch::Tensor& log_p, const torch::Tensor& log_q, const torch::Tensor& idx, bool renormalise) {
  auto lp = log_p.gather(-1, idx), lq = log_q.gather(-1, idx);
  if (renormalise) {
    lp = lp - torch::logsumexp(lp, -1, /*keepdim=*/true);
    lq = lq - torch::logsumexp(lq, -1, /*keepdim=*/true);
  }
  return (lp.exp() * (lp - lq)).sum(-1).mean();
}
}  // namespace

ApcTerms apc_loss(const torch::Tensor& logits_q, const torch::Tensor& logits_ft, const torch::Tensor& logits_pt,
                  const ApcOptions& o) {
  if (logits_q.sizes() != logits_ft.sizes() || logits_q.sizes() != logits_pt.sizes())
    throw std::invalid_argument("apc_loss: the three logits must have one shape");
  const int64_t V = logits_q.size(-1);
  if (o.k_pull < 1 || o.k_push < 1 || o.k_pull > V || o.k_push > V)
    throw std::invalid_argument("apc_loss: subset sizes must lie in 1..vocab (" + std::to_string(V) + ")");
  auto q = torch::log_softmax(logits_q.reshape({-1, V}).to(torch::kFloat32), -1);
  auto ft32 = logits_ft.reshape({-1, V}).to(torch::kFloat32).detach(), pt32 = logits_pt.reshape({-1, V}).to(torch::kFloat32).detach();
  auto ft = torch::log_softmax(ft32, -1), pt = torch::log_softmax(pt32, -1);
  auto top = std::get<1>(ft.topk(o.k_pull, -1));
  auto gap = o.push_on_logits ? (ft32 - pt32).abs() : (ft.exp() - pt.exp()).abs();
  auto diff = std::get<1>(gap.topk(o.k_push, -1));
  ApcTerms t;
  t.pull = subset_kl(ft, q, top, o.renormalise);
  t.push = subset_kl(pt, q, diff, o.renormalise);
  t.loss = t.pull - o.alpha * t.push;
  return t;
}

}  // namespace qlab
