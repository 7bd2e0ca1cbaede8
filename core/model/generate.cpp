#include "core/model/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <stdexcept>

#include "core/model/fused_ops.h"

namespace qlab {

// Picks the next token of every row from its float32 logits [B, vocab]:
// greedy on the logits' device, so that the tokens can be fed back without a
// trip through the host. Sampling runs on the CPU with one seeded generator,
// so that a seed gives the same text on every device.
static torch::Tensor next_tokens(const torch::Tensor& logits, const GenerateOptions& o, torch::Generator& gen) {
  if (o.greedy) return logits.argmax(-1);
  auto probs = torch::softmax(logits.cpu().to(torch::kFloat64) / o.temperature, -1);
  if (o.top_p < 1.0) {
    // Nucleus: keep the most likely tokens until their mass reaches top_p (at
    // least one), i.e. drop a token when the mass before it already does.
    auto [sorted, order] = probs.sort(-1, /*descending=*/true);
    auto before = sorted.cumsum(-1) - sorted;
    auto dropped = torch::zeros_like(probs, torch::kBool).scatter(-1, order, before >= o.top_p);
    probs = probs.masked_fill(dropped, 0.0);
  }
  return torch::multinomial(probs, 1, /*replacement=*/false, gen).squeeze(1);
}

std::vector<std::vector<int64_t>> generate(Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerateOptions& o) {
  torch::NoGradGuard no_grad;
  if (prompts.empty()) return {};
  if (!o.greedy && !(o.temperature > 0)) throw std::invalid_argument("generate: temperature must be > 0");
  const int64_t B = prompts.size();
  int64_t T = 0;
  for (const auto& p : prompts) {
    if (p.empty()) throw std::invalid_argument("generate: empty prompt");
    T = std::max<int64_t>(T, p.size());
  }
  // Left padding keeps every row's last token in the last column.
  auto ids = torch::full({B, T}, o.pad_id, torch::kLong);
  auto mask = torch::zeros({B, T}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = prompts[b].size();
    ids[b].narrow(0, T - n, n).copy_(torch::tensor(prompts[b], torch::kLong));
    mask[b].narrow(0, T - n, n).fill_(1);
  }
  // Without padding the mask says nothing, and leaving it out lets the
  // attention use its plain causal path.
  const bool padded = mask.min().item<int64_t>() == 0;
  torch::Generator gen = at::detail::createCPUGenerator(o.seed);
  KVCache cache(T + o.max_new_tokens);
  std::vector<std::vector<int64_t>> out(B);
  // The batch holds the rows still running (row_of: their prompt index) and
  // some finished ones, fed their own next tokens, which are never read (a
  // row's tokens do not depend on what the other rows are fed). Once a
  // quarter of it has finished it is compacted, so that short answers (a
  // refusal) stop costing compute, while the cache is copied only O(log B)
  // times.
  std::vector<int64_t> row_of(B);
  for (int64_t b = 0; b < B; ++b) row_of[b] = b;
  std::vector<bool> done(B, false);
  int64_t running = B;
  if (o.max_new_tokens <= 0) return out;
  auto logits = model.head(model.hidden_states(ids, padded ? mask : torch::Tensor(), &cache).select(1, -1));
  auto decoder = make_decoder(model, cache, padded ? mask : torch::Tensor(), o.decode_path);
  // Greedy decoding runs a step ahead: step s + 1 is launched on step s's
  // tokens (still on the device) before the host reads them, so that reading
  // tokens and launching work on the host overlap the GPU's work instead of
  // waiting for it. The host then learns that the batch should shrink, or
  // that every row has stopped, one step late: that step's logits are
  // compacted with the batch (the kept rows' logits, computed in the larger
  // batch), or thrown away; no token past a row's stop or the last step is
  // emitted. Sampling reads each step's tokens at once (they come from the
  // CPU anyway), so that the batch, and with it the seeded generator's
  // draws, shrinks at the step where a quarter of it has finished.
  const bool ahead = o.greedy;
  TokenReadback readback;
  for (int64_t step = 0;; ++step) {
    auto next = next_tokens(logits, o, gen);   // [rows] int64 (on the device when greedy)
    readback.push(next);
    const bool last = step + 1 == o.max_new_tokens;
    if (ahead && !last) logits = decoder->step(next.unsqueeze(1));
    auto picked = readback.pop();
    auto picked_a = picked.accessor<int64_t, 1>();
    const int64_t rows = picked.size(0);
    for (int64_t r = 0; r < rows; ++r) {
      if (done[r]) continue;
      out[row_of[r]].push_back(picked_a[r]);
      if (std::find(o.stop_ids.begin(), o.stop_ids.end(), picked_a[r]) != o.stop_ids.end()) {
        done[r] = true;
        --running;
      }
    }
    if (last || running == 0) break;
    if (running <= rows * 3 / 4) {
      std::vector<int64_t> keep;
      for (int64_t r = 0; r < rows; ++r)
        if (!done[r]) keep.push_back(r);
      auto index = torch::tensor(keep, torch::kLong);
      decoder->keep_rows(index);
      next = next.index_select(0, index.to(next.device()));
      if (ahead) logits = logits.index_select(0, index.to(logits.device()));
      std::vector<int64_t> kept_rows;
      for (int64_t r : keep) kept_rows.push_back(row_of[r]);
      row_of = std::move(kept_rows);
      done.assign(keep.size(), false);
    }
    if (!ahead) logits = decoder->step(next.unsqueeze(1));
  }
  return out;
}

// next_token_logprobs on CUDA: the head's logits in the model's dtype, as
// its GEMM gives them, go to one kernel that takes each row's log-softmax at
// its target in float64 (fused_target_logprobs), so that no float32 or
// float64 copy of them exists. The B * (T - 1) positions are flattened into
// rows, so that a chunk's GEMM has many of them (a chunk of positions at 8B,
// batch 4, has 260). max_logits bounds the memory as the path below uses
// it: there a logit is held in float32 and twice in float64 (20 bytes),
// here once in the dtype. Undefined where the kernel declines.
static torch::Tensor fused_next_token_logprobs(const Model& model, const torch::Tensor& hidden,
                                               const torch::Tensor& ids, int64_t max_logits) {
  const int64_t B = hidden.size(0), T = hidden.size(1), V = model.lm_head.weight.size(0);
  auto rows = hidden.narrow(1, 0, T - 1).reshape({B * (T - 1), hidden.size(2)});
  auto targets = ids.narrow(1, 1, T - 1).reshape({B * (T - 1)});
  const int64_t n = rows.size(0);
  const int64_t chunk = std::max<int64_t>(1, max_logits * 20 / (V * int64_t(model.lm_head.weight.element_size())));
  auto out = torch::empty({n}, torch::TensorOptions().dtype(torch::kFloat64).device(hidden.device()));
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t m = std::min(chunk, n - r0);
    auto lp = fused_target_logprobs(model.head_in_dtype(rows.narrow(0, r0, m)), targets.narrow(0, r0, m));
    if (!lp.defined()) return {};
    out.narrow(0, r0, m).copy_(lp);
  }
  return out.view({B, T - 1});
}

torch::Tensor next_token_logprobs(const Model& model, const torch::Tensor& ids, int64_t max_logits) {
  torch::NoGradGuard no_grad;
  const int64_t B = ids.size(0), T = ids.size(1), V = model.lm_head.weight.size(0);
  auto on = ids.to(model.device);
  auto hidden = model.hidden_states(on);
  if (hidden.is_cuda() && T > 1)
    if (auto lp = fused_next_token_logprobs(model, hidden, on, max_logits); lp.defined()) return lp;
  const int64_t chunk = std::max<int64_t>(1, max_logits / (B * V));   // positions per head call
  std::vector<torch::Tensor> parts;
  for (int64_t t0 = 0; t0 < T - 1; t0 += chunk) {
    const int64_t n = std::min(chunk, T - 1 - t0);
    auto logp = torch::log_softmax(model.head(hidden.narrow(1, t0, n)).to(torch::kFloat64), -1);
    parts.push_back(logp.gather(-1, on.narrow(1, t0 + 1, n).unsqueeze(-1)).squeeze(-1));
  }
  return parts.empty() ? torch::zeros({B, 0}, torch::TensorOptions().dtype(torch::kFloat64).device(model.device))
                       : torch::cat(parts, 1);
}

torch::Tensor token_logprobs(Model& model, const std::vector<int64_t>& ids) {
  if (ids.size() < 2) return torch::zeros({0}, torch::kFloat64);
  return next_token_logprobs(model, torch::tensor(ids, torch::kLong).unsqueeze(0))[0].cpu();
}

}  // namespace qlab
