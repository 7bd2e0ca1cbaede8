#include "core/model/model.h"

#include <stdexcept>

#include "core/error.h"

#include "core/model/arch.h"
#include "core/model/attention.h"
#include "core/model/checkpoint.h"
#include "core/model/rope.h"
#include "core/torch_compat.h"

namespace qlab {

torch::Tensor apply_ops(const std::vector<OnlineOp>& ops, torch::Tensor x) {
  for (const auto& op : ops) x = op.fn(x);
  return x;
}

torch::Tensor Linear::forward(const torch::Tensor& x) const {
  return torch::linear(apply_ops(input_ops, x), weight, bias);
}

// Moving to the GPU can overlap with work already queued; the other way the
// CPU would read before the copy is done.
static torch::Tensor moved(const torch::Tensor& t, torch::Device device, torch::ScalarType dtype) {
  return t.defined() ? t.to(device, dtype, /*non_blocking=*/device.is_cuda()) : t;
}

void Layer::to(torch::Device device, torch::ScalarType dtype) {
  input_norm = moved(input_norm, device, dtype);
  post_attn_norm = moved(post_attn_norm, device, dtype);
  for (Linear* l : {&q, &k, &v, &o, &gate, &up, &down}) {
    l->weight = moved(l->weight, device, dtype);
    l->bias = moved(l->bias, device, dtype);
  }
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

Model::Model() : fused_attention(QLAB_HAS_SDPA) {}

torch::Tensor Model::embed_tokens(const torch::Tensor& ids) const {
  return torch::embedding(embed, ids.to(device));
}

Model::Positions Model::positions(const torch::Tensor& attention_mask, int64_t seq_len, int64_t past_len) const {
  const int64_t T = seq_len, Tk = past_len + seq_len, W = config.sliding_window;
  auto longs = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto query_index = torch::arange(past_len, Tk, longs);       // cache index of each query
  Positions p;
  torch::Tensor real;                                           // [B, Tk] bool, when padded
  if (attention_mask.defined()) {
    if (attention_mask.dim() != 2 || attention_mask.size(1) != Tk)
      throw std::invalid_argument("Model::positions: attention_mask must be [B, past + T]");
    auto m = attention_mask.to(device, torch::kLong);
    real = m.to(torch::kBool);
    p.position_ids = (m.cumsum(1) - 1).masked_fill(m == 0, 1).narrow(1, past_len, T);
  } else {
    p.position_ids = query_index.unsqueeze(0);
  }
  std::tie(p.cos, p.sin) = rope_cos_sin(rope_inv_freq(config.rope, config.head_dim), p.position_ids, dtype);

  const bool window_hides = W > 0 && Tk > W;
  if (real.defined() || window_hides) {
    auto distance = query_index.unsqueeze(1) - torch::arange(Tk, longs).unsqueeze(0);   // [T, Tk]
    auto allowed = distance >= 0;
    if (W > 0) allowed = allowed & (distance < W);
    allowed = allowed.view({1, 1, T, Tk});
    if (real.defined()) {
      const int64_t B = real.size(0);
      allowed = allowed & real.view({B, 1, 1, Tk});
      // A padding query would see no key at all; letting it see itself keeps
      // its (unused) output finite, so no NaN can leak through later matmuls.
      auto pad_query = real.narrow(1, past_len, T).logical_not().view({B, 1, T, 1});
      allowed = allowed | (pad_query & (distance == 0).view({1, 1, T, Tk}));
    }
    p.mask = allowed;
  }
  return p;
}

torch::Tensor Model::layer_forward(size_t i, const torch::Tensor& hidden, const Positions& pos, KVCache* cache) {
  Layer on_device;
  const Layer* L = &layers.at(i);
  if (offloaded_) {
    on_device = layers[i];
    on_device.to(device, dtype);
    L = &on_device;
  }
  const int64_t B = hidden.size(0), T = hidden.size(1);
  const int64_t H = config.num_heads, KV = config.num_kv_heads, D = config.head_dim;
  const double eps = config.rms_norm_eps;

  auto a = rms_norm(hidden, L->input_norm, eps);
  auto q = L->q.forward(a).view({B, T, H, D}).transpose(1, 2);
  auto k = L->k.forward(a).view({B, T, KV, D}).transpose(1, 2);
  auto v = L->v.forward(a).view({B, T, KV, D}).transpose(1, 2);
  q = apply_ops(L->q_rope_ops, apply_rope(q, pos.cos, pos.sin));
  k = apply_ops(L->k_rope_ops, apply_rope(k, pos.cos, pos.sin));
  v = apply_ops(L->v_ops, v);
  if (cache) std::tie(k, v) = cache->append(i, k, v);
  auto attn = attention(q, k, v, pos.mask, fused_attention);
  auto h = hidden + L->o.forward(attn.transpose(1, 2).reshape({B, T, H * D}));

  auto m = rms_norm(h, L->post_attn_norm, eps);
  return h + L->down.forward(torch::silu(L->gate.forward(m)) * L->up.forward(m));
}

torch::Tensor Model::head(const torch::Tensor& hidden) {
  return lm_head.forward(rms_norm(hidden, final_norm, config.rms_norm_eps)).to(torch::kFloat32);
}

torch::Tensor Model::hidden_states(const torch::Tensor& ids, const torch::Tensor& attention_mask, KVCache* cache) {
  if (ids.dim() != 2) throw std::invalid_argument("Model::forward: ids must be [B, T]");
  auto pos = positions(attention_mask, ids.size(1), cache ? cache->length() : 0);
  auto h = embed_tokens(ids);
  for (size_t i = 0; i < layers.size(); ++i) h = layer_forward(i, h, pos, cache);
  return h;
}

torch::Tensor Model::forward(const torch::Tensor& ids, const torch::Tensor& attention_mask, KVCache* cache) {
  return head(hidden_states(ids, attention_mask, cache));
}

static const char* const kLinearSlots[] = {"q", "k", "v", "o", "gate", "up", "down"};

static Linear& slot(Layer& l, const std::string& s) {
  Linear* all[] = {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down};
  for (size_t j = 0; j < 7; ++j)
    if (s == kLinearSlots[j]) return *all[j];
  throw std::out_of_range("no linear slot '" + s + "'");
}

Linear& Model::linear(const std::string& name) {
  if (name == "lm_head") return lm_head;
  const std::string prefix = "layers.";
  auto dot = name.find('.', prefix.size());
  if (name.compare(0, prefix.size(), prefix) == 0 && dot != std::string::npos) {
    const std::string index = name.substr(prefix.size(), dot - prefix.size());
    if (!index.empty() && index.find_first_not_of("0123456789") == std::string::npos) {
      size_t i = std::stoul(index);
      if (i < layers.size()) {
        try {
          return slot(layers[i], name.substr(dot + 1));
        } catch (const std::out_of_range&) {
        }
      }
    }
  }
  throw std::out_of_range("Model::linear: no linear named '" + name +
                          "' (expected layers.<i>.<q|k|v|o|gate|up|down> or lm_head)");
}

std::vector<std::string> Model::linear_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < layers.size(); ++i)
    for (const char* s : kLinearSlots) names.push_back("layers." + std::to_string(i) + "." + s);
  names.push_back("lm_head");
  return names;
}

int64_t Model::num_parameters() const {
  auto n = [](const torch::Tensor& t) { return t.defined() ? t.numel() : int64_t(0); };
  int64_t total = n(embed) + n(final_norm) + n(lm_head.bias);
  if (!lm_head.weight.is_same(embed)) total += n(lm_head.weight);
  for (const auto& l : layers) {
    total += n(l.input_norm) + n(l.post_attn_norm);
    for (const Linear* x : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) total += n(x->weight) + n(x->bias);
  }
  return total;
}

void Model::to(torch::Device new_device, torch::ScalarType new_dtype) {
  const bool tied = lm_head.weight.defined() && lm_head.weight.is_same(embed);
  embed = moved(embed, new_device, new_dtype);
  final_norm = moved(final_norm, new_device, new_dtype);
  lm_head.weight = tied ? embed : moved(lm_head.weight, new_device, new_dtype);
  lm_head.bias = moved(lm_head.bias, new_device, new_dtype);
  for (auto& l : layers) l.to(offloaded_ ? torch::Device(torch::kCPU) : new_device, new_dtype);
  device = new_device;
  dtype = new_dtype;
}

// Where the tensor of a checkpoint slot (core/model/arch.h) lives in the model.
static torch::Tensor& slot_tensor(Model& m, const TensorSlot& s) {
  switch (s.role) {
    case TensorRole::embed: return m.embed;
    case TensorRole::final_norm: return m.final_norm;
    case TensorRole::lm_head: return m.lm_head.weight;
    default: break;
  }
  Layer& l = m.layers.at(s.layer);
  switch (s.role) {
    case TensorRole::input_norm: return l.input_norm;
    case TensorRole::post_attn_norm: return l.post_attn_norm;
    case TensorRole::q: return l.q.weight;
    case TensorRole::k: return l.k.weight;
    case TensorRole::v: return l.v.weight;
    case TensorRole::q_bias: return l.q.bias;
    case TensorRole::k_bias: return l.k.bias;
    case TensorRole::v_bias: return l.v.bias;
    case TensorRole::o: return l.o.weight;
    case TensorRole::gate: return l.gate.weight;
    case TensorRole::up: return l.up.weight;
    case TensorRole::down: return l.down.weight;
    default: throw std::logic_error(std::string("slot_tensor: unhandled role ") + role_name(s.role));
  }
}

Model Model::load(const std::string& dir, torch::Device device, torch::ScalarType dtype) {
  if (!compat::dtype_supported(device, dtype))
    throw UsageError(dir + ": float16 on the CPU needs LibTorch >= 2.1 (this is " TORCH_VERSION "); use bfloat16 or float32");
  Checkpoint ck = Checkpoint::open(dir);   // validates names, shapes and dtypes
  Model m;
  m.config = ck.config();
  m.device = device;
  m.dtype = dtype;
  m.layers.resize(m.config.num_layers);
  for (const TensorSlot& s : expected_tensors(m.config)) slot_tensor(m, s) = ck.load(s.name, dtype, device);
  if (m.config.tie_word_embeddings) m.lm_head.weight = m.embed;
  return m;
}

std::map<std::string, torch::Tensor> Model::checkpoint_tensors() const {
  std::map<std::string, torch::Tensor> out;
  // slot_tensor only reads here; it takes a mutable model because load writes through it.
  Model& self = const_cast<Model&>(*this);
  for (const TensorSlot& s : expected_tensors(config)) out[s.name] = slot_tensor(self, s);
  return out;
}

Model Model::load_offloaded(const std::string& dir, torch::Device device, torch::ScalarType dtype) {
  Model m = load(dir, torch::kCPU, dtype);
  m.offload(device);
  return m;
}

void Model::offload(torch::Device compute_device) {
  offloaded_ = true;
  to(compute_device, dtype);
  // Pinned pages let the per-layer copies to the GPU run asynchronously.
  if (compute_device.is_cuda())
    for (auto& l : layers) {
      auto pin = [](torch::Tensor& t) { if (t.defined()) t = t.pin_memory(); };
      pin(l.input_norm);
      pin(l.post_attn_norm);
      for (Linear* x : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
        pin(x->weight);
        pin(x->bias);
      }
    }
}

}  // namespace qlab
