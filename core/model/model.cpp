#include "core/model/model.h"

#include <algorithm>
#include <stdexcept>

#include "core/error.h"

#include "core/model/arch.h"
#include "core/model/attention.h"
#include "core/model/checkpoint.h"
#include "core/model/fused_ops.h"
#include "core/model/linear_blocks.h"
#include "core/model/rope.h"
#include "core/torch_compat.h"

namespace qlab {

torch::Tensor apply_ops(const std::vector<OnlineOp>& ops, torch::Tensor x) {
  for (const OnlineOp& op : ops) x = op.fn(x);
  return x;
}

OnlineOp transient_op(std::string kind, std::function<torch::Tensor(const torch::Tensor&)> fn) {
  return OnlineOp{std::move(kind), "transient", nlohmann::json::object(), {}, std::move(fn), /*transient=*/true};
}

OnlineOp capture_op(std::function<void(const torch::Tensor&)> see) {
  return transient_op("capture", [see = std::move(see)](const torch::Tensor& x) {
    see(x);
    return x;
  });
}

std::string OnlineOp::describe() const {
  if (args.contains("description")) return kind + "(" + args["description"].get<std::string>() + ")";
  return kind;
}

static Affine cast(const Affine& a, torch::ScalarType dtype) {
  return {a.weight.to(dtype), a.bias.defined() ? a.bias.to(dtype) : a.bias};
}

Affine Linear::effective() const {
  if (weight_ops.empty()) return {weight, bias};
  Affine a = cast({weight, bias}, transform_dtype);
  for (const auto& op : weight_ops) a = op.fn(a, transform_dtype);
  return cast(a, weight.scalar_type());
}

torch::Tensor Linear::forward(const torch::Tensor& x) const {
  Affine a = effective();
  return torch::linear(apply_ops(input_ops, x), a.weight, a.bias);
}

bool same_ops(const std::vector<OnlineOp>& a, const std::vector<OnlineOp>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const OnlineOp &x = a[i], &y = b[i];
    if (x.transient || y.transient || x.kind != y.kind || x.tag != y.tag || x.args != y.args ||
        x.tensors.size() != y.tensors.size())
      return false;
    for (const auto& [name, t] : x.tensors) {
      auto it = y.tensors.find(name);
      if (it == y.tensors.end() || !it->second.is_same(t)) return false;
    }
  }
  return true;
}

namespace {

// The linears that read one activation x (q, k, v; gate, up), each distinct
// list of input ops applied once: a linear whose list is that of an earlier
// one takes that one's result. Quantizing one activation per token for three
// matmuls then costs one pass, not three, with the same values. Each linear
// still builds its weight, then its input, then the product, in the order of
// the calls, as Linear::forward does (the backward sums gradients in the order
// the graph was built).
class SharedInput {
 public:
  explicit SharedInput(torch::Tensor x) : x_(std::move(x)) {}
  // An input made ahead for the list `ops` (the fused norm and quantizer).
  void provide(const std::vector<OnlineOp>& ops, torch::Tensor input) { done_.emplace_back(&ops, std::move(input)); }

  torch::Tensor forward(const Linear& l) {
    Affine a = l.effective();
    return torch::linear(input(l.input_ops), a.weight, a.bias);
  }

  // The outputs of the linears `group`, in order, from one GEMM over their
  // block, its output split (views of its columns), where they are one block
  // (linear_blocks.h), the input is on the GPU and no graph is built through
  // it; else empty, and the caller runs one product each. Only on the GPU:
  // there one product of 6,144 rows fills waves that 4,096, 1,024 and 1,024
  // leave part-empty, while a CPU BLAS gains nothing and sums some dot
  // products in another order (its kernel depends on the shape), which would
  // move every recorded CPU result (the learned methods amplify a last-bit
  // change into other refusals).
  std::vector<torch::Tensor> block_forward(std::initializer_list<const Linear*> group) {
    std::vector<torch::Tensor> out;
    if (!(*group.begin())->weight.is_cuda()) return out;
    if (auto block = block_of(group)) {
      auto in = input((*group.begin())->input_ops);
      if (!(torch::GradMode::is_enabled() && in.requires_grad())) {
        auto y = torch::linear(in, block->weight, block->bias);
        int64_t at = 0;
        for (const Linear* l : group) {
          out.push_back(y.narrow(-1, at, l->weight.size(0)));
          at += l->weight.size(0);
        }
      }
    }
    return out;
  }

 private:
  torch::Tensor input(const std::vector<OnlineOp>& ops) {
    for (const auto& [seen, in] : done_)
      if (same_ops(*seen, ops)) return in;
    done_.emplace_back(&ops, apply_ops(ops, x_));
    return done_.back().second;
  }
  torch::Tensor x_;
  std::vector<std::pair<const std::vector<OnlineOp>*, torch::Tensor>> done_;
};

// rms_norm(x, w) shared by the linears that read it. Where they all have one
// list and it starts with a fake quantizer, the norm and the quantizer run as
// one kernel where one applies (the normed activation itself is then never
// needed).
SharedInput normed_input(const torch::Tensor& x, const torch::Tensor& w, double eps,
                         std::initializer_list<const Linear*> readers) {
  const std::vector<OnlineOp>& ops = (*readers.begin())->input_ops;
  const bool one_list =
      std::all_of(readers.begin(), readers.end(), [&](const Linear* l) { return same_ops(l->input_ops, ops); });
  if (one_list && !ops.empty())
    if (auto y = fused_rms_norm_quant(x, w, eps, ops.front()); y.defined()) {
      SharedInput shared{torch::Tensor()};
      shared.provide(ops, apply_ops({ops.begin() + 1, ops.end()}, y));
      return shared;
    }
  return SharedInput(rms_norm(x, w, eps));
}

// down(silu(gate) * up), down's input ops applied in the same kernels where
// fused_down_input covers them.
torch::Tensor mlp_down(const torch::Tensor& gate, const torch::Tensor& up, const Linear& down) {
  if (auto in = fused_down_input(gate, up, down.input_ops); in.defined()) {
    SharedInput made{torch::Tensor()};
    made.provide(down.input_ops, in);
    return made.forward(down);
  }
  auto act = fused_silu_mul(gate, up);
  if (!act.defined()) act = torch::silu(gate) * up;
  return down.forward(act);
}

// apply_ops(ops, apply_rope(x)), in one kernel where fused_rope covers the ops.
torch::Tensor rotated(const torch::Tensor& x, const Model::Positions& pos, const std::vector<OnlineOp>& ops) {
  if (!ops.empty())
    if (auto y = fused_rope(x, pos.cos, pos.sin, ops); y.defined()) return y;
  return apply_ops(ops, apply_rope(x, pos.cos, pos.sin));
}

}  // namespace

void Linear::bake() {
  if (weight_ops.empty()) return;
  torch::NoGradGuard no_grad;
  Affine a = cast({weight, bias}, torch::kFloat64);
  for (const auto& op : weight_ops) a = op.fn(a, torch::kFloat64);
  weight = a.weight.to(weight.scalar_type()).contiguous();
  if (bias.defined() || a.bias.defined())
    bias = a.bias.to(weight.scalar_type()).contiguous();
  weight_ops.clear();
}

const std::vector<LinearSlot>& layer_linears() {
  static const std::vector<LinearSlot> slots = {
      {"q", &Layer::q, false},       {"k", &Layer::k, false},   {"v", &Layer::v, false},
      {"o", &Layer::o, true},        {"gate", &Layer::gate, false}, {"up", &Layer::up, false},
      {"down", &Layer::down, true},
  };
  return slots;
}

// Moving to the GPU can overlap with work already queued; the other way the
// CPU would read before the copy is done.
static torch::Tensor moved(const torch::Tensor& t, torch::Device device, torch::ScalarType dtype) {
  return t.defined() ? t.to(device, dtype, /*non_blocking=*/device.is_cuda()) : t;
}

void Layer::to(torch::Device device, torch::ScalarType dtype) {
  input_norm = moved(input_norm, device, dtype);
  post_attn_norm = moved(post_attn_norm, device, dtype);
  map_layer_tensors(*this, [&](const torch::Tensor& t) { return moved(t, device, dtype); });
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  if (auto y = fused_rms_norm(x, weight, eps); y.defined()) return y;
  auto x32 = x.to(torch::kFloat32);
  auto normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

Model::Model() : fused_attention(QLAB_HAS_SDPA) {}

torch::Tensor Model::embed_tokens(const torch::Tensor& ids) const {
  return apply_ops(embed_out_ops, torch::embedding(embed.effective().weight, ids.to(device)));
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

namespace {

// One decoder layer, as the top of model.h writes it.
torch::Tensor decoder_layer(const Layer& L, const ModelConfig& c, const torch::Tensor& hidden,
                            const Model::Positions& pos, KVCache* cache, size_t index, bool fused) {
  const int64_t B = hidden.size(0), T = hidden.size(1);
  const int64_t H = c.num_heads, KV = c.num_kv_heads, D = c.head_dim;
  auto a = normed_input(hidden, L.input_norm, c.rms_norm_eps, {&L.q, &L.k, &L.v});
  auto qkv = a.block_forward({&L.q, &L.k, &L.v});
  if (qkv.empty()) qkv = {a.forward(L.q), a.forward(L.k), a.forward(L.v)};
  auto q = qkv[0].view({B, T, H, D}).transpose(1, 2);
  auto k = qkv[1].view({B, T, KV, D}).transpose(1, 2);
  auto v = qkv[2].view({B, T, KV, D}).transpose(1, 2);
  q = rotated(q, pos, L.q_rope_ops);
  k = rotated(k, pos, L.k_rope_ops);
  v = apply_ops(L.v_ops, v);
  if (cache) std::tie(k, v) = cache->append(index, k, v);
  auto attn = attention(q, k, v, pos.mask, fused, cache ? cache->write_at : torch::Tensor());
  auto h = apply_ops(L.attn_skip_ops, hidden) + L.o.forward(attn.transpose(1, 2).reshape({B, T, H * D}));

  auto m = normed_input(h, L.post_attn_norm, c.rms_norm_eps, {&L.gate, &L.up});
  auto gate_up = m.block_forward({&L.gate, &L.up});
  if (gate_up.empty()) {
    // up's product before gate's, the order they have always run in: the
    // backward then adds gate's part into the shared input first, as it
    // always has, so that recorded trainings stay bit for bit.
    auto up = m.forward(L.up);
    gate_up = {m.forward(L.gate), up};
  }
  return apply_ops(L.mlp_skip_ops, h) + mlp_down(gate_up[0], gate_up[1], L.down);
}

// Activation checkpointing of one layer: the forward keeps only its input;
// the backward runs the layer again with grad and differentiates that. The
// layer's trainable tensors are passed as inputs so that their gradients are
// routed (LibTorch's C++ API has no torch.utils.checkpoint).
struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, torch::Tensor hidden,
                                                at::TensorList params, const Model* model,
                                                int64_t index, const Model::Positions* pos) {
    ctx->saved_data["model"] = reinterpret_cast<int64_t>(model);
    ctx->saved_data["index"] = index;
    // The positions are the caller's locals: keep their tensors, not the pointer.
    ctx->saved_data["position_ids"] = pos->position_ids;
    ctx->saved_data["cos"] = pos->cos;
    ctx->saved_data["sin"] = pos->sin;
    ctx->saved_data["has_mask"] = pos->mask.defined();
    if (pos->mask.defined()) ctx->saved_data["mask"] = pos->mask;
    (void)params;
    ctx->save_for_backward({hidden});
    torch::NoGradGuard no_grad;
    return {decoder_layer(model->layers[index], model->config, hidden, *pos, nullptr, index, model->fused_attention)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto* model = reinterpret_cast<const Model*>(ctx->saved_data["model"].toInt());
    Model::Positions pos{ctx->saved_data["position_ids"].toTensor(), ctx->saved_data["cos"].toTensor(),
                         ctx->saved_data["sin"].toTensor(),
                         ctx->saved_data["has_mask"].toBool() ? ctx->saved_data["mask"].toTensor() : torch::Tensor()};
    const auto index = ctx->saved_data["index"].toInt();
    auto hidden = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    auto params = model->layer_trainable_tensors(static_cast<size_t>(index));
    torch::Tensor out;
    {
      torch::AutoGradMode grad(true);
      out = decoder_layer(model->layers[index], model->config, hidden, pos, nullptr, index, model->fused_attention);
    }
    std::vector<torch::Tensor> inputs = {hidden};
    inputs.insert(inputs.end(), params.begin(), params.end());
    auto grads = torch::autograd::grad({out}, inputs, {grad_out[0]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    // One gradient per forward input: hidden, each param, then the three non-tensor arguments.
    torch::autograd::variable_list result(grads.begin(), grads.end());
    result.resize(result.size() + 3);
    return result;
  }
};

}  // namespace

torch::Tensor Model::layer_forward(size_t i, const torch::Tensor& hidden, const Positions& pos, KVCache* cache) const {
  if (offloaded_) {
    Layer on_device = layers[i];
    on_device.to(device, dtype);
    return decoder_layer(on_device, config, hidden, pos, cache, i, fused_attention);
  }
  if (checkpoint_layers && torch::GradMode::is_enabled() && !cache) {
    auto params = layer_trainable_tensors(i);
    // As a TensorList each parameter counts as one input of the node (a
    // std::vector would count as a single non-tensor argument).
    return CheckpointedLayer::apply(hidden, at::TensorList(params), this, static_cast<int64_t>(i), &pos)[0];
  }
  return decoder_layer(layers.at(i), config, hidden, pos, cache, i, fused_attention);
}

torch::Tensor Model::head_in_dtype(const torch::Tensor& hidden) const {
  return lm_head.forward(rms_norm(hidden, final_norm, config.rms_norm_eps));
}

torch::Tensor Model::head(const torch::Tensor& hidden) const { return head_in_dtype(hidden).to(torch::kFloat32); }

torch::Tensor Model::hidden_states(const torch::Tensor& ids, const torch::Tensor& attention_mask, KVCache* cache) const {
  if (ids.dim() != 2) throw std::invalid_argument("Model::forward: ids must be [B, T]");
  auto pos = positions(attention_mask, ids.size(1), cache ? cache->length() : 0);
  auto h = embed_tokens(ids);
  for (size_t i = 0; i < layers.size(); ++i) h = layer_forward(i, h, pos, cache);
  return h;
}

torch::Tensor Model::forward(const torch::Tensor& ids, const torch::Tensor& attention_mask, KVCache* cache) const {
  return head(hidden_states(ids, attention_mask, cache));
}

static Linear& slot(Layer& l, const std::string& s) {
  for (const auto& slot : layer_linears())
    if (s == slot.name) return l.*slot.member;
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
    for (const auto& s : layer_linears()) names.push_back("layers." + std::to_string(i) + "." + s.name);
  names.push_back("lm_head");
  return names;
}

int64_t Model::num_parameters() const {
  auto n = [](const torch::Tensor& t) { return t.defined() ? t.numel() : int64_t(0); };
  int64_t total = n(embed.weight) + n(final_norm) + n(lm_head.bias);
  if (!lm_head.weight.is_same(embed.weight)) total += n(lm_head.weight);
  for (const auto& l : layers) {
    total += n(l.input_norm) + n(l.post_attn_norm);
    for (const auto& s : layer_linears()) total += n((l.*s.member).weight) + n((l.*s.member).bias);
  }
  return total;
}

std::vector<std::pair<std::string, Linear*>> Model::all_linears() {
  std::vector<std::pair<std::string, Linear*>> out = {{"embed", &embed}};
  for (size_t i = 0; i < layers.size(); ++i)
    for (const auto& s : layer_linears()) out.emplace_back("layers." + std::to_string(i) + "." + s.name, &(layers[i].*s.member));
  out.emplace_back("lm_head", &lm_head);
  return out;
}

std::vector<std::pair<std::string, std::vector<OnlineOp>*>> Layer::op_lists() {
  std::vector<std::pair<std::string, std::vector<OnlineOp>*>> out;
  for (const auto& s : layer_linears()) out.emplace_back(std::string(s.name) + ".in", &(this->*s.member).input_ops);
  out.emplace_back("q_rope", &q_rope_ops);
  out.emplace_back("k_rope", &k_rope_ops);
  out.emplace_back("v", &v_ops);
  out.emplace_back("attn_skip", &attn_skip_ops);
  out.emplace_back("mlp_skip", &mlp_skip_ops);
  return out;
}

std::vector<OpSite> Model::op_sites() {
  const int64_t hidden = config.hidden_size;
  std::vector<OpSite> out = {{"embed.out", &embed_out_ops, hidden}};
  for (size_t i = 0; i < layers.size(); ++i) {
    Layer& l = layers[i];
    for (auto& [suffix, ops] : l.op_lists()) {
      int64_t width = hidden;
      for (const auto& s : layer_linears())
        if (suffix == std::string(s.name) + ".in") width = (l.*s.member).weight.size(1);
      if (suffix == "q_rope" || suffix == "k_rope" || suffix == "v") width = config.head_dim;
      out.push_back({"layers." + std::to_string(i) + "." + suffix, ops, width});
    }
  }
  out.push_back({"lm_head.in", &lm_head.input_ops, hidden});
  return out;
}

size_t Model::detach(const std::string& tag) {
  size_t n = 0;
  auto drop = [&](auto& ops) {
    auto before = ops.size();
    ops.erase(std::remove_if(ops.begin(), ops.end(), [&](const auto& op) { return op.tag == tag; }), ops.end());
    n += before - ops.size();
  };
  for (auto& site : op_sites()) drop(*site.ops);
  for (auto& [name, lin] : all_linears()) drop(lin->weight_ops);
  return n;
}

void Model::bake() {
  const bool tied = lm_head.weight.is_same(embed.weight);
  if (offloaded_ && device.type() != torch::kCPU) {
    // Each offloaded layer with weight ops visits the device to be baked:
    // rotating a 70B-shaped layer in float64 takes tens of seconds on the CPU.
    for (Layer& l : layers) {
      const auto& slots = layer_linears();
      if (std::all_of(slots.begin(), slots.end(), [&](const LinearSlot& s) { return (l.*s.member).weight_ops.empty(); }))
        continue;
      l.to(device, dtype);
      for (const auto& s : slots) (l.*s.member).bake();
      l.to(torch::kCPU, dtype);
    }
  }
  for (auto& [name, lin] : all_linears()) lin->bake();
  // Baking makes new weights: blocks again, for one GEMM per block.
  for (Layer& l : layers) place_adjacent(l);
  if (tied && !lm_head.weight.is_same(embed.weight))
    throw std::logic_error("Model::bake: a weight op on a tied embedding (untie lm_head first)");
}

std::vector<torch::Tensor> Model::layer_trainable_tensors(size_t i) const {
  std::vector<torch::Tensor> out;
  auto add = [&](const torch::Tensor& t) {
    if (!t.defined() || !t.requires_grad()) return;
    for (const auto& seen : out)
      if (seen.is_same(t)) return;
    out.push_back(t);
  };
  // op_lists only hands out the lists; nothing is changed. Only this layer's
  // lists: this runs in every recomputed layer of every training step.
  Layer& l = const_cast<Layer&>(layers.at(i));
  for (const auto& s : layer_linears())
    for (const auto& op : (l.*s.member).weight_ops)
      for (const auto& t : op.tensors) add(t);
  for (auto& [suffix, ops] : l.op_lists())
    for (const auto& op : *ops)
      for (const auto& [name, t] : op.tensors) add(t);
  return out;
}

void Model::to(torch::Device new_device, torch::ScalarType new_dtype) {
  const bool tied = lm_head.weight.defined() && lm_head.weight.is_same(embed.weight);
  embed.weight = moved(embed.weight, new_device, new_dtype);
  final_norm = moved(final_norm, new_device, new_dtype);
  lm_head.weight = tied ? embed.weight : moved(lm_head.weight, new_device, new_dtype);
  lm_head.bias = moved(lm_head.bias, new_device, new_dtype);
  for (auto& l : layers) l.to(offloaded_ ? torch::Device(torch::kCPU) : new_device, new_dtype);
  device = new_device;
  dtype = new_dtype;
}

// Where the tensor of a checkpoint slot (core/model/arch.h) lives in the model.
static torch::Tensor& slot_tensor(Model& m, const TensorSlot& s) {
  switch (s.role) {
    case TensorRole::embed: return m.embed.weight;
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
  for (const TensorSlot& s : expected_tensors(m.config)) {
    slot_tensor(m, s) = ck.load(s.name, dtype, device);
    // q/k/v and gate/up in one block each (one GEMM per block) as soon as a
    // layer's group is loaded: the next layer's loads reuse what its parts
    // took (on CUDA the caching allocator keeps it).
    if (s.layer >= 0) place_adjacent(m.layers[s.layer]);
  }
  if (m.config.tie_word_embeddings) m.lm_head.weight = m.embed.weight;
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
      auto pin = [](const torch::Tensor& t) { return t.pin_memory(); };
      l.input_norm = pin(l.input_norm);
      l.post_attn_norm = pin(l.post_attn_norm);
      map_layer_tensors(l, pin);
    }
}

static Linear copy_linear(const Linear& l) {
  Linear c = l;
  c.weight = l.weight.clone();
  if (l.bias.defined()) c.bias = l.bias.clone();
  return c;
}

Model copy_model(const Model& m) {
  Model c = m;   // config, flags, ops (their closures hold immutable plans); tensors cloned below
  const bool tied = m.lm_head.weight.defined() && m.lm_head.weight.is_same(m.embed.weight);
  c.embed = copy_linear(m.embed);
  c.final_norm = m.final_norm.clone();
  c.lm_head = copy_linear(m.lm_head);
  if (tied) c.lm_head.weight = c.embed.weight;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Layer& n = c.layers[i];
    n.input_norm = m.layers[i].input_norm.clone();
    n.post_attn_norm = m.layers[i].post_attn_norm.clone();
    map_layer_tensors(n, [](const torch::Tensor& t) { return t.clone(); });   // n's linears are m's until here
  }
  if (m.offloaded()) c.offload(m.device);
  return c;
}

}  // namespace qlab
