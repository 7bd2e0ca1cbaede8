#include "plugins/common/rotation_learning.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <numeric>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/learn/stiefel.h"
#include "core/quant/rotation.h"
#include "plugins/common/calibration_data.h"
#include "plugins/common/learned.h"
#include "plugins/common/learned_transforms.h"
#include "plugins/common/learning_loss.h"

namespace qlab {

namespace {

std::unique_ptr<StiefelOptimizer> make_optimizer(const Params& p, std::vector<torch::Tensor> params,
                                                 std::vector<torch::Tensor> scales) {
  if (p.get_string("optimizer") == "radam") {
    const double ratio = scales.empty() ? 1.0 : p.get_float("scale_lr") / p.get_float("lr");
    return std::make_unique<RiemannianAdam>(std::move(params), p.get_float("lr"), AdamOptions{}, std::move(scales), ratio);
  }
  CayleyOptions co;
  co.momentum = p.get_float("momentum");
  co.iterations = static_cast<int>(p.get_int("cayley_iterations"));
  co.cap_frobenius = p.get_string("step_cap") == "frobenius";
  return std::make_unique<CayleySGD>(std::move(params), p.get_float("lr"), co);
}

void restore(std::map<std::string, torch::Tensor>& into, const std::map<std::string, torch::Tensor>& from,
             const std::string& file) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : into) {
    auto it = from.find(name);
    if (it == from.end() || it->second.sizes() != t.sizes())
      throw UsageError(file + ": learned rotation '" + name + "' is missing or has another shape (another model?)");
    t.copy_(it->second.to(t.device(), t.scalar_type()));
  }
}

// Trains the rotations in place through the fake-quantized model.
TrainResult train_rotations(Workspace& ws, const Params& p, const RotationLearning& how, const LearningQuantizers& q,
                            const TransformCache& cache, LearnedTransforms& learned) {
  Model& model = ws.model();
  const Rotations& rot = learned.rot;
  torch::Tensor windows = calibration_windows(ws, p);
  const int64_t batch = p.get_int("batch");
  std::vector<torch::Tensor> params = rot.params(), scales = learned.scales.params();
  for (auto& t : params) t.requires_grad_(true);
  for (auto& t : scales) t.requires_grad_(true);

  learned.attach(model, ws.online(), "learn", /*live=*/true);
  if (rot.layerwise()) rot.attach_exact_transitions(model, "learn");
  // After the transforms (whose start preserves the function: what `self` and
  // the teacher cache read), before the quantizers.
  const LearningLoss loss = make_learning_loss(ws, p, windows, batch);
  attach_learning_quantizers(model, q);
  for (auto& [name, lin] : model.all_linears()) lin->transform_dtype = rot.head.scalar_type();
  model.checkpoint_layers = p.get_bool("checkpoint_layers");

  auto optimizer = make_optimizer(p, params, scales);
  TrainOptions o = read_training(p, how.method);
  o.tokens_per_step = batch * windows.size(1);
  o.checkpoint_path = cache.partial_path;
  o.fingerprint = cache.key;
  o.probe = [&] { return held_loss(windows, batch, [&](int64_t i) { return loss(model, i).loss; }); };
  auto loss_at = [&](int64_t step) { return loss(model, step); };
  struct Restore {
    Model& m;
    ~Restore() { m.checkpoint_layers = false; }
  } restore_flag{model};
  TrainResult r = train(*optimizer, loss_at, o);
  model.detach(kQuantTag);
  model.detach("learn");
  for (auto& t : params) t.requires_grad_(false);
  for (auto& t : scales) t.requires_grad_(false);
  return r;
}

// A transition's rank-r approximation as a saved online op.
OnlineOp lowrank_op(const torch::Tensor& T, int64_t rank, const Model& model, const std::string& tag, double* error) {
  LowRankTransition t = approximate_transition(T, rank);
  *error = t.error;
  return make_online_op("lowrank_residual", nlohmann::json{{"rank", t.U.size(1)}}, {{"U", t.U}, {"D", t.D}}, model.device,
                        model.dtype, tag);
}

}  // namespace

void learn_rotations(Workspace& ws, RunOutput& out, const Params& p, const RotationLearning& how) {
  const std::string& name = how.method;
  Model& model = ws.model();
  const LearningQuantizers quantizers = learning_quantizers(ws, name);
  const TransformCache cache = transform_cache(ws, p, name, quantizers, how.after_learning);
  const auto& c = model.config;
  const size_t L = model.layers.size();
  const torch::ScalarType dt = p.get_string("rotation_dtype") == "float64" ? torch::kFloat64 : torch::kFloat32;

  {
    torch::NoGradGuard no_grad;
    fuse_norms(model, p.get_bool("subtract_embedding_mean"));
    OnlineSpec& spec = ws.online();
    spec.seed = ws.seed();
    spec.down_hadamard = p.get_bool("online_down_hadamard");
    spec.qk_hadamard = p.get_bool("online_qk_hadamard");
    spec.o_hadamard = false;   // SpinQuant quantizes o_proj's input per head instead
    if (!how.ostquant) {
      attach_online_hadamard_weights(model, spec, name);
      model.bake();   // the fixed Hadamards once, not in every training step
    }
    attach_online_hadamards(model, spec, name);
  }

  if (how.layerwise_rank > c.hidden_size)
    throw UsageError(p.owner() + ".rank: " + std::to_string(how.layerwise_rank) + " is larger than the hidden size " +
                     std::to_string(c.hidden_size) + " (rank = hidden size keeps the transitions exact)");
  const auto opts = torch::TensorOptions().dtype(dt).device(model.device);
  LearnedTransforms all{Rotations(model, ws.seed(), how.layerwise_rank >= 0, how.ostquant,
                        p.get_string("init") == "klt" ? &model : nullptr, opts),
              how.ostquant ? Scales(c, opts) : Scales()};
  const Rotations& rot = all.rot;
  std::map<std::string, torch::Tensor> learned = all.named();
  std::map<std::string, torch::Tensor> initial;
  for (auto& [n, t] : learned) initial[n] = t.clone();

  TrainResult result;
  if (auto cached = cache.load()) {
    restore(learned, *cached, cache.path);
    spdlog::info("{}: learned transforms from the cache {} (no training)", name, cache.path);
  } else {
    result = train_rotations(ws, p, how, quantizers, cache, all);
    cache.store(learned);
  }

  torch::NoGradGuard no_grad;
  all.attach(model, ws.online(), name, /*live=*/false);
  model.bake();
  if (rot.layerwise()) {
    // Per transition: ||T - I||_F (how far the bases moved apart) and the
    // approximation's error relative to it; means in the metrics, each in the arrays.
    std::vector<double> deviation, relative_error;
    auto I = torch::eye(c.hidden_size, torch::TensorOptions().dtype(torch::kFloat64).device(model.device));
    // What the rank-r approximation alone costs: the full-precision
    // (quantizers off) loss on the calibration windows with the exact
    // transitions, then with the approximated ones.
    const torch::Tensor windows = calibration_windows(ws, p);
    auto fp_loss = [&] {
      const int64_t batch = p.get_int("batch");
      return held_loss(windows, batch, [&](int64_t i) { return next_token_loss(model, training_batch(windows, batch, i)); });
    };
    rot.attach_exact_transitions(model, "exact");
    const double exact_loss = fp_loss();
    model.detach("exact");
    double e = 0;
    for (size_t i = 0; i < L; ++i)
      for (bool attn : {true, false}) {
        auto T = (attn ? rot.attn_transition(i) : rot.mlp_transition(i)).to(torch::kFloat64);
        auto& site = attn ? model.layers[i].attn_skip_ops : model.layers[i].mlp_skip_ops;
        site.push_back(lowrank_op(T, how.layerwise_rank, model, name, &e));
        deviation.push_back((T - I).norm().item<double>());
        relative_error.push_back(deviation.back() > 0 ? e / deviation.back() : 0.0);
      }
    auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); };
    out.arrays[name + ".transition_deviation"] = deviation;
    out.arrays[name + ".transition_relative_error"] = relative_error;
    out.metrics[name + ".transition_deviation"] = mean(deviation);
    out.metrics[name + ".transition_relative_error"] = mean(relative_error);
    // x + ((x U) D) U^T: 2 d r + r^2 multiply-adds per transition, two per layer.
    const double r = double(std::min<int64_t>(how.layerwise_rank, c.hidden_size));
    out.metrics[name + ".online_macs_per_token"] = double(2 * L) * (2.0 * double(c.hidden_size) * r + r * r);
    const double approx_loss = fp_loss();
    out.metrics[name + ".fp_loss_exact"] = exact_loss;
    out.metrics[name + ".fp_loss_rank"] = approx_loss;
    out.metrics[name + ".fp_ppl_change"] = std::exp(approx_loss - exact_loss) - 1.0;
  }

  record_training(out, name, result, cache);
  double worst = 0, change = 0;
  for (auto& [n, t] : rot.named()) {
    worst = std::max(worst, orthogonality_error(t));
    change += (t.to(torch::kFloat64) - initial.at(n).to(torch::kFloat64)).norm().item<double>() / std::sqrt(double(t.size(0)));
  }
  out.metrics[name + ".orthogonality_error"] = worst;
  out.metrics[name + ".rotation_change"] = change / double(rot.named().size());
  if (!all.scales.empty()) {
    // How far the scales moved from 1 (max |log s|), and their extremes.
    double moved = 0, lo = INFINITY, hi = 0;
    for (auto& [n, t] : all.scales.named()) {
      moved = std::max(moved, t.abs().max().item<double>());
      lo = std::min(lo, t.exp().min().item<double>());
      hi = std::max(hi, t.exp().max().item<double>());
    }
    out.metrics[name + ".scale_log_max"] = moved;
    out.metrics[name + ".scale_min"] = lo;
    out.metrics[name + ".scale_max"] = hi;
  }
  ws.quant_record().push_back({{"step", name},
                               {"cache_key", cache.key},
                               {"steps", p.get_int("steps")},
                               {"steps_run", result.steps_run},
                               {"loss", describe_learning_loss(p)},
                               {"init", p.get_string("init")},
                               {"online", ws.online().to_json()}});
}

std::vector<ParamSpec> rotation_learning_params(const RotationDefaults& d) {
  auto p = calibration_params(d.nsamples, d.seqlen);
  for (auto& t : training_params(d.lr, d.steps, d.batch)) p.push_back(t);
  for (auto& t : learning_loss_params(d.loss)) p.push_back(t);
  std::vector<ParamSpec> own = {
      {"optimizer", ParamType::String, d.optimizer, "cayley: Cayley SGD (SpinQuant); radam: Riemannian Adam (OSTQuant)", false, {}, {}, {"cayley", "radam"}},
      {"momentum", ParamType::Float, "0", "Cayley SGD momentum (the SpinQuant authors' SGDG default: 0)", false, 0.0, 0.999},
      {"cayley_iterations", ParamType::Int, "0", "0: exact Cayley transform; s > 0: the paper's s fixed-point iterations", false, 0, 100},
      {"step_cap", ParamType::String, "l1", "Cayley step capped at 1/||W|| in this norm (authors' code: frobenius)", false, {}, {}, {"l1", "frobenius"}},
      {"rotation_dtype", ParamType::String, "float64", "dtype of the rotations and their products while learning (SpinQuant: float64)", false, {}, {}, {"float64", "float32"}},
      {"init", ParamType::String, d.init, "hadamard: random Hadamards; klt: eigenvectors of the weight covariance times them (OSTQuant)",
       false, {}, {}, {"hadamard", "klt"}},
      {"subtract_embedding_mean", ParamType::Bool, "true", "centre embedding rows when fusing norms (the public codes do)"},
      {"online_down_hadamard", ParamType::Bool, "true", "R4: online Hadamard before down_proj"},
      {"online_qk_hadamard", ParamType::Bool, "true", "R3: online Hadamard on Q and K after RoPE"},
  };
  if (d.scales)
    own.push_back({"scale_lr", ParamType::Float, "0.005", "learning rate of the smoothing scales (log s, Adam; same schedule)", false, 1e-8, 1e3});
  for (auto& o : own) p.push_back(o);
  return p;
}

void check_rotation_learning(const Params& p, Workspace& ws, const std::string& method) {
  check_followed_by_quantizer(ws, method);
  check_calibration(p, ws);
  if (p.get_int("nsamples") < p.get_int("batch"))
    throw UsageError(p.owner() + ": nsamples " + std::to_string(p.get_int("nsamples")) + " is less than one batch of " +
                     std::to_string(p.get_int("batch")));
  if (p.has("scale_lr") && p.get_string("optimizer") != "radam")
    throw UsageError(p.owner() + ".optimizer: " + p.get_string("optimizer") +
                     " cannot learn the smoothing scales (they are not on the orthogonal group); use radam");
  check_learning_loss(p, ws);
}

}  // namespace qlab
