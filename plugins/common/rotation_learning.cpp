#include "plugins/common/rotation_learning.h"

#include <spdlog/spdlog.h>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/learn/stiefel.h"
#include "core/quant/hadamard.h"
#include "core/quant/rotation.h"
#include "plugins/common/calibration_data.h"
#include "plugins/common/learned.h"

namespace qlab {

namespace {

// R of order n: a randomised Hadamard (signs before the transform), or the
// seeded orthogonal fallback where no construction exists.
torch::Tensor initial_rotation(int64_t n, uint64_t seed) {
  return random_hadamard_matrix(plan_hadamard(n, /*allow_orthogonal_fallback=*/true, seed), seed);
}

std::unique_ptr<StiefelOptimizer> make_optimizer(const Params& p, std::vector<torch::Tensor> params) {
  if (p.get_string("optimizer") == "radam") return std::make_unique<RiemannianAdam>(std::move(params), p.get_float("lr"));
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

// Trains r1, r2 in place through the fake-quantized model.
TrainResult train_rotations(Workspace& ws, const Params& p, const RotationLearning& how, const LearningQuantizers& q,
                            const TransformCache& cache, torch::Tensor& r1, std::vector<torch::Tensor>& r2) {
  Model& model = ws.model();
  torch::Tensor windows = calibration_windows(ws, p);
  const int64_t batch = p.get_int("batch");
  std::vector<torch::Tensor> params = {r1.requires_grad_(true)};
  for (auto& r : r2) params.push_back(r.requires_grad_(true));

  attach_residual_rotation(model, shared_basis(r1, model.layers.size()), "learn");
  attach_value_rotation(model, r2, "learn");
  attach_learning_quantizers(model, q);
  for (auto& [name, lin] : model.all_linears()) lin->transform_dtype = r1.scalar_type();
  model.checkpoint_layers = p.get_bool("checkpoint_layers");

  auto optimizer = make_optimizer(p, params);
  TrainOptions o = read_training(p, how.method);
  o.tokens_per_step = batch * windows.size(1);
  o.checkpoint_path = cache.partial_path;
  o.fingerprint = cache.key;
  o.probe = [&] { return held_loss(windows, batch, [&](const torch::Tensor& ids) { return how.loss(model, ids).loss; }); };
  auto loss_at = [&](int64_t step) { return how.loss(model, training_batch(windows, batch, step)); };
  struct Restore {
    Model& m;
    ~Restore() { m.checkpoint_layers = false; }
  } restore_flag{model};
  TrainResult r = train(*optimizer, loss_at, o);
  model.detach(kQuantTag);
  model.detach("learn");
  for (auto& t : params) t.requires_grad_(false);
  return r;
}

}  // namespace

void learn_rotations(Workspace& ws, RunOutput& out, const Params& p, const RotationLearning& how) {
  const std::string& name = how.method;
  Model& model = ws.model();
  const LearningQuantizers quantizers = learning_quantizers(ws, name);
  const TransformCache cache = transform_cache(ws, p, name, quantizers);
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
    attach_online_hadamard_weights(model, spec, name);
    model.bake();   // the fixed Hadamards once, not in every training step
    attach_online_hadamards(model, spec, name);
  }

  auto opts = torch::TensorOptions().dtype(dt).device(model.device);
  torch::Tensor r1 = initial_rotation(c.hidden_size, ws.seed()).to(opts);
  std::vector<torch::Tensor> r2;
  for (size_t i = 0; i < L; ++i) r2.push_back(random_hadamard_matrix(c.head_dim, ws.seed() + 1 + i).to(opts));
  std::map<std::string, torch::Tensor> learned = {{"r1", r1}};
  for (size_t i = 0; i < L; ++i) learned["r2." + std::to_string(i)] = r2[i];
  const torch::Tensor r1_init = r1.clone();

  TrainResult result;
  if (auto cached = cache.load()) {
    restore(learned, *cached, cache.path);
    spdlog::info("{}: learned rotations from the cache {} (no training)", name, cache.path);
  } else {
    result = train_rotations(ws, p, how, quantizers, cache, r1, r2);
    cache.store(learned);
  }

  torch::NoGradGuard no_grad;
  attach_residual_rotation(model, shared_basis(r1.detach(), L), name);
  std::vector<torch::Tensor> fixed_r2;
  for (auto& r : r2) fixed_r2.push_back(r.detach());
  attach_value_rotation(model, fixed_r2, name);
  model.bake();

  record_training(out, name, result, cache);
  double worst = orthogonality_error(r1);
  for (auto& r : r2) worst = std::max(worst, orthogonality_error(r));
  out.metrics[name + ".orthogonality_error"] = worst;
  out.metrics[name + ".r1_change"] =
      (r1.to(torch::kFloat64) - r1_init.to(torch::kFloat64)).norm().item<double>() / std::sqrt(double(c.hidden_size));
  ws.quant_record().push_back({{"step", name},
                               {"cache_key", cache.key},
                               {"steps", p.get_int("steps")},
                               {"steps_run", result.steps_run},
                               {"online", ws.online().to_json()}});
}

std::vector<ParamSpec> rotation_learning_params(const RotationDefaults& d) {
  auto p = calibration_params(d.nsamples, d.seqlen);
  for (auto& t : training_params(d.lr, d.steps, d.batch)) p.push_back(t);
  std::vector<ParamSpec> own = {
      {"optimizer", ParamType::String, d.optimizer, "cayley: Cayley SGD (SpinQuant); radam: Riemannian Adam (OSTQuant)", false, {}, {}, {"cayley", "radam"}},
      {"momentum", ParamType::Float, "0", "Cayley SGD momentum (the SpinQuant authors' SGDG default: 0)", false, 0.0, 0.999},
      {"cayley_iterations", ParamType::Int, "0", "0: exact Cayley transform; s > 0: the paper's s fixed-point iterations", false, 0, 100},
      {"step_cap", ParamType::String, "l1", "Cayley step capped at 1/||W|| in this norm (authors' code: frobenius)", false, {}, {}, {"l1", "frobenius"}},
      {"rotation_dtype", ParamType::String, "float64", "dtype of the rotations and their products while learning (SpinQuant: float64)", false, {}, {}, {"float64", "float32"}},
      {"subtract_embedding_mean", ParamType::Bool, "true", "centre embedding rows when fusing norms (the public codes do)"},
      {"online_down_hadamard", ParamType::Bool, "true", "R4: online Hadamard before down_proj"},
      {"online_qk_hadamard", ParamType::Bool, "true", "R3: online Hadamard on Q and K after RoPE"},
  };
  for (auto& o : own) p.push_back(o);
  return p;
}

void check_rotation_learning(const Params& p, Workspace& ws, const std::string& method) {
  check_followed_by_quantizer(ws, method);
  check_calibration(p, ws);
  if (p.get_int("nsamples") < p.get_int("batch"))
    throw UsageError(p.owner() + ": nsamples " + std::to_string(p.get_int("nsamples")) + " is less than one batch of " +
                     std::to_string(p.get_int("batch")));
}

}  // namespace qlab
