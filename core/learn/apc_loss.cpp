#include "core/learn/apc_loss.h"

#include <stdexcept>

namespace qlab {

namespace {
// float32 at least; float64 stays (finite-difference checks).
torch::ScalarType compute_dtype(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// KL(p || q) on each row's subset, given log p there (lp) and all of log q:
// with renormalisation both distributions are taken relative to their mass on
// the set; without, the raw probabilities.
torch::Tensor subset_kl(torch::Tensor lp, const torch::Tensor& log_q, const torch::Tensor& idx, bool renormalise) {
  auto lq = log_q.gather(-1, idx);
  if (renormalise) {
    lp = lp - torch::logsumexp(lp, -1, /*keepdim=*/true);
    lq = lq - torch::logsumexp(lq, -1, /*keepdim=*/true);
  }
  return (lp.exp() * (lp - lq)).sum(-1).mean();
}
}  // namespace

ApcTargets apc_targets(const torch::Tensor& logits_ft, const torch::Tensor& logits_pt, const ApcOptions& o) {
  if (logits_ft.sizes() != logits_pt.sizes()) throw std::invalid_argument("apc_loss: the teachers' logits must have one shape");
  const int64_t V = logits_ft.size(-1);
  if (o.k_pull < 1 || o.k_push < 1 || o.k_pull > V || o.k_push > V)
    throw std::invalid_argument("apc_loss: subset sizes must lie in 1..vocab (" + std::to_string(V) + ")");
  const auto dt = compute_dtype(logits_ft);
  auto ft32 = logits_ft.reshape({-1, V}).to(dt).detach(), pt32 = logits_pt.reshape({-1, V}).to(dt).detach();
  auto ft = torch::log_softmax(ft32, -1), pt = torch::log_softmax(pt32, -1);
  ApcTargets t;
  t.pull_index = std::get<1>(ft.topk(o.k_pull, -1));
  auto gap = o.push_on_logits ? (ft32 - pt32).abs() : (ft.exp() - pt.exp()).abs();
  t.push_index = std::get<1>(gap.topk(o.k_push, -1));
  t.pull_logp = ft.gather(-1, t.pull_index);
  t.push_logp = pt.gather(-1, t.push_index);
  return t;
}

ApcTerms apc_loss(const torch::Tensor& logits_q, const ApcTargets& targets, const ApcOptions& o) {
  const int64_t V = logits_q.size(-1);
  auto q = torch::log_softmax(logits_q.reshape({-1, V}).to(compute_dtype(logits_q)), -1);
  if (targets.pull_index.size(0) != q.size(0) || targets.push_index.size(0) != q.size(0))
    throw std::invalid_argument("apc_loss: targets for " + std::to_string(targets.pull_index.size(0)) + " positions, logits for " +
                                std::to_string(q.size(0)));
  auto on = [&](const torch::Tensor& t) { return t.to(q.device()); };
  ApcTerms out;
  out.pull = subset_kl(on(targets.pull_logp).to(q.scalar_type()), q, on(targets.pull_index), o.renormalise);
  out.push = subset_kl(on(targets.push_logp).to(q.scalar_type()), q, on(targets.push_index), o.renormalise);
  out.loss = out.pull - o.alpha * out.push;
  return out;
}

ApcTerms apc_loss(const torch::Tensor& logits_q, const torch::Tensor& logits_ft, const torch::Tensor& logits_pt,
                  const ApcOptions& o) {
  if (logits_q.sizes() != logits_ft.sizes() || logits_q.sizes() != logits_pt.sizes())
    throw std::invalid_argument("apc_loss: the three logits must have one shape");
  return apc_loss(logits_q, apc_targets(logits_ft, logits_pt, o), o);
}

torch::Tensor teacher_kl(const torch::Tensor& logits_q, const torch::Tensor& logits_teacher, int64_t top_k) {
  if (logits_q.sizes() != logits_teacher.sizes()) throw std::invalid_argument("teacher_kl: the two logits must have one shape");
  const int64_t V = logits_q.size(-1);
  if (top_k < 0 || top_k > V) throw std::invalid_argument("teacher_kl: top_k must lie in 0..vocab (" + std::to_string(V) + ")");
  const auto dt = compute_dtype(logits_q);
  auto q = torch::log_softmax(logits_q.reshape({-1, V}).to(dt), -1);
  auto t = torch::log_softmax(logits_teacher.reshape({-1, V}).to(dt).detach(), -1);
  if (top_k == 0) return (t.exp() * (t - q)).sum(-1).mean();
  auto idx = std::get<1>(t.topk(top_k, -1));
  return subset_kl(t.gather(-1, idx), q, idx, /*renormalise=*/true);
}

}  // namespace qlab
