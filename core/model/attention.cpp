#include "core/model/attention.h"

#include <cmath>
#include <limits>

#include "core/model/fused_ops.h"
#include "core/model/model.h"
#include "core/torch_compat.h"

namespace qlab {

// Causal with the queries at the last T of Tk key positions.
static torch::Tensor causal_mask(int64_t T, int64_t Tk, torch::Device device) {
  return torch::ones({T, Tk}, torch::TensorOptions().dtype(torch::kBool).device(device)).tril(Tk - T);
}

#if QLAB_HAS_SDPA
static torch::Tensor fused_attention(const torch::Tensor& q, torch::Tensor k, torch::Tensor v,
                                     torch::Tensor mask) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t KV = k.size(1), Tk = k.size(2);
  bool is_causal = false;
  if (!mask.defined() && T > 1) {
    if (T == Tk) is_causal = true;  // the kernel's causal mask is aligned at the top left
    else mask = causal_mask(T, Tk, q.device());
  }
  // Without a mask the flash kernel reads grouped kv heads in place (where
  // the LibTorch has enable_gqa); with one, the memory-efficient kernel
  // takes it, which may want as many kv heads as query heads: a copy.
  if (KV != H && (mask.defined() || !QLAB_HAS_SDPA_GQA)) {
    k = k.unsqueeze(2).expand({B, KV, H / KV, Tk, D}).reshape({B, H, Tk, D});
    v = v.unsqueeze(2).expand({B, KV, H / KV, Tk, D}).reshape({B, H, Tk, D});
  }
  return compat::sdpa(q, k, v, mask, is_causal);
}
#endif

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool fused, const torch::Tensor& last_key) {
  if (fused && last_key.defined())
    if (auto out = fused_decode_attention(q, k, v, mask, last_key); out.defined()) return out;
#if QLAB_HAS_SDPA
  // One query per row (a decode step) gains nothing from the fused kernels,
  // and with a padding mask LibTorch falls back to its math kernel, which
  // copies the whole cache to float32 in every layer; the grouped products
  // below read the cache in place.
  if (fused && q.size(2) > 1) return fused_attention(q, k, v, mask);
#else
  (void)fused;
#endif
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t KV = k.size(1), Tk = k.size(2), rep = H / KV;
  // The rep query heads sharing a kv head are stacked along the rows, so that
  // one batched matmul per kv head serves them all without copying k or v.
  auto scores = torch::matmul(q.reshape({B, KV, rep * T, D}), k.transpose(2, 3));
  scores.mul_(1.0 / std::sqrt(double(D)));
  auto allowed = mask.defined() ? mask.unsqueeze(2) : T > 1 ? causal_mask(T, Tk, q.device()) : torch::Tensor();
  // Every row keeps at least its own position (Model::positions sees to it), so -inf never makes NaN.
  if (allowed.defined())
    scores.view({B, KV, rep, T, Tk}).masked_fill_(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
  return torch::matmul(probs, v).view({B, H, T, D});
}

std::pair<torch::Tensor, torch::Tensor> KVCache::append(size_t layer, const torch::Tensor& k_new,
                                                        const torch::Tensor& v_new) {
  if (write_at.defined()) {
    k[layer].index_copy_(2, write_at, k_new);
    v[layer].index_copy_(2, write_at, v_new);
    return {k[layer], v[layer]};
  }
  if (k.size() <= layer) {
    k.resize(layer + 1);
    v.resize(layer + 1);
    lengths.resize(layer + 1, 0);
  }
  const int64_t len = lengths[layer], T = k_new.size(2), need = len + T;
  if (!k[layer].defined() || k[layer].size(2) < need) {
    // Grow geometrically so that decoding token by token copies the cache O(log n) times.
    int64_t cap = std::max({need, capacity_hint, k[layer].defined() ? 2 * k[layer].size(2) : 0});
    auto grow = [&](const torch::Tensor& old, const torch::Tensor& like) {
      auto buf = torch::empty({like.size(0), like.size(1), cap, like.size(3)}, like.options());
      if (len > 0) buf.narrow(2, 0, len).copy_(old.narrow(2, 0, len));
      return buf;
    };
    k[layer] = grow(k[layer], k_new);
    v[layer] = grow(v[layer], v_new);
  }
  k[layer].narrow(2, len, T).copy_(k_new);
  v[layer].narrow(2, len, T).copy_(v_new);
  lengths[layer] = need;
  return {k[layer].narrow(2, 0, need), v[layer].narrow(2, 0, need)};
}

void KVCache::fix_shapes(const torch::Tensor& at) {
  for (size_t layer = 0; layer < k.size(); ++layer) {
    const int64_t len = lengths[layer], cap = k[layer].size(2);
    k[layer].narrow(2, len, cap - len).zero_();
    v[layer].narrow(2, len, cap - len).zero_();
  }
  write_at = at;
}

void KVCache::keep_rows(const torch::Tensor& rows) {
  for (size_t layer = 0; layer < k.size(); ++layer) {
    if (!k[layer].defined()) continue;
    auto on = rows.to(k[layer].device());
    k[layer] = k[layer].index_select(0, on);
    v[layer] = v[layer].index_select(0, on);
  }
}

}  // namespace qlab
