// SpinQuant (Liu et al., 2024): QuaRot's rotation placement with R1 (the
// residual basis, shared by all layers) and R2 (per layer, per head on v/o)
// learned by Cayley SGD on the cross-entropy of the fake-quantized network.
//   fuse norms; R4 (online Hadamard before down_proj) and R3 (on Q/K after
//   RoPE) fixed; R1, R2 from random Hadamards; attach the quantizers of the
//   step that follows (activations and KV always, weights only before rtn);
//   train; take the quantizers off; bake R1, R2 into the weights (float64).
// Compose with `rtn` or `gptq`: method: [spinquant, gptq]. o_proj's input is
// quantized in per-head groups when that step says o_per_head (SpinQuant has
// no online Hadamard across heads).
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/learn/stiefel.h"
#include "core/quant/hadamard.h"
#include "core/quant/rotation.h"
#include "core/registry.h"
#include "plugins/common/calibration_data.h"
#include "plugins/common/learned.h"

namespace qlab {
namespace {

constexpr const char* kName = "spinquant";

torch::ScalarType rotation_dtype(const Params& p) {
  return p.get_string("rotation_dtype") == "float64" ? torch::kFloat64 : torch::kFloat32;
}

// R1 of order n: a randomised Hadamard (signs before the transform), or the
// seeded orthogonal fallback where no construction exists.
torch::Tensor initial_rotation(int64_t n, uint64_t seed) {
  return random_hadamard_matrix(plan_hadamard(n, /*allow_orthogonal_fallback=*/true, seed), seed);
}

class SpinQuant : public Method {
 public:
  explicit SpinQuant(const Params& p) : p_(p) {}

  void apply(Workspace& ws, RunOutput& out) override {
    Model& model = ws.model();
    const LearningQuantizers quantizers = learning_quantizers(ws, kName);
    const TransformCache cache = transform_cache(ws, p_, kName, quantizers);
    const auto& c = model.config;
    const size_t L = model.layers.size();
    const torch::ScalarType dt = rotation_dtype(p_);

    {
      torch::NoGradGuard no_grad;
      fuse_norms(model, p_.get_bool("subtract_embedding_mean"));
      OnlineSpec& spec = ws.online();
      spec.seed = ws.seed();
      spec.down_hadamard = p_.get_bool("online_down_hadamard");
      spec.qk_hadamard = p_.get_bool("online_qk_hadamard");
      spec.o_hadamard = false;
      attach_online_hadamard_weights(model, spec, kName);
      model.bake();   // the fixed Hadamards once, not in every training step
      attach_online_hadamards(model, spec, kName);
    }

    // The learned rotations: float master copies on the model's device.
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
      spdlog::info("{}: learned rotations from the cache {} (no training)", kName, cache.path);
    } else {
      result = learn(ws, model, quantizers, cache, r1, r2);
      cache.store(learned);
    }

    torch::NoGradGuard no_grad;
    attach_residual_rotation(model, shared_basis(r1.detach(), L), kName);
    std::vector<torch::Tensor> fixed_r2;
    for (auto& r : r2) fixed_r2.push_back(r.detach());
    attach_value_rotation(model, fixed_r2, kName);
    model.bake();

    record_training(out, kName, result, cache);
    double worst = orthogonality_error(r1);
    for (auto& r : r2) worst = std::max(worst, orthogonality_error(r));
    out.metrics[std::string(kName) + ".orthogonality_error"] = worst;
    out.metrics[std::string(kName) + ".r1_change"] =
        (r1.to(torch::kFloat64) - r1_init.to(torch::kFloat64)).norm().item<double>() / std::sqrt(double(c.hidden_size));
    ws.quant_record().push_back({{"step", kName},
                                 {"cache_key", cache.key},
                                 {"steps", p_.get_int("steps")},
                                 {"steps_run", result.steps_run},
                                 {"online", ws.online().to_json()}});
  }

 private:
  // Trains r1, r2 in place through the fake-quantized model.
  TrainResult learn(Workspace& ws, Model& model, const LearningQuantizers& quantizers, const TransformCache& cache,
                    torch::Tensor& r1, std::vector<torch::Tensor>& r2) {
    torch::Tensor windows = calibration_windows(ws, p_);
    const int64_t batch = p_.get_int("batch");
    if (windows.size(0) < batch)
      throw UsageError(std::string(kName) + ": nsamples " + std::to_string(windows.size(0)) + " is less than one batch of " +
                       std::to_string(batch));
    std::vector<torch::Tensor> params = {r1.requires_grad_(true)};
    for (auto& r : r2) params.push_back(r.requires_grad_(true));

    attach_residual_rotation(model, shared_basis(r1, model.layers.size()), "learn");
    attach_value_rotation(model, r2, "learn");
    attach_learning_quantizers(model, quantizers);
    for (auto& [name, lin] : model.all_linears()) lin->transform_dtype = r1.scalar_type();
    model.checkpoint_layers = p_.get_bool("checkpoint_layers");

    CayleyOptions co;
    co.momentum = p_.get_float("momentum");
    co.iterations = static_cast<int>(p_.get_int("cayley_iterations"));
    co.cap_frobenius = p_.get_string("step_cap") == "frobenius";
    CayleySGD optimizer(params, p_.get_float("lr"), co);
    TrainOptions o = read_training(p_, kName);
    o.tokens_per_step = batch * windows.size(1);
    o.checkpoint_path = cache.partial_path;
    o.fingerprint = cache.key;
    auto loss_at = [&](int64_t step) { return StepLoss{next_token_loss(model, training_batch(windows, batch, step)), {}}; };
    TrainResult r;
    try {
      r = train(optimizer, loss_at, o);
    } catch (...) {
      model.checkpoint_layers = false;
      throw;
    }
    model.checkpoint_layers = false;
    model.detach(kQuantTag);
    model.detach("learn");
    for (auto& p : params) p.requires_grad_(false);
    return r;
  }

  static void restore(std::map<std::string, torch::Tensor>& into, const std::map<std::string, torch::Tensor>& from,
                      const std::string& file) {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : into) {
      auto it = from.find(name);
      if (it == from.end() || it->second.sizes() != t.sizes())
        throw UsageError(file + ": learned rotation '" + name + "' is missing or has another shape (another model?)");
      t.copy_(it->second.to(t.device(), t.scalar_type()));
    }
  }

  Params p_;
};

std::vector<ParamSpec> spinquant_params() {
  auto p = calibration_params(800, 2048);
  for (auto& t : training_params("1.5", 100, 8)) p.push_back(t);
  std::vector<ParamSpec> own = {
      {"momentum", ParamType::Float, "0", "Cayley SGD momentum (the authors' SGDG default: 0)", false, 0.0, 0.999},
      {"cayley_iterations", ParamType::Int, "0", "0: exact Cayley transform; s > 0: the paper's s fixed-point iterations", false, 0, 100},
      {"step_cap", ParamType::String, "l1", "step capped at 1/||W|| in this norm (authors' code: frobenius)", false, {}, {}, {"l1", "frobenius"}},
      {"rotation_dtype", ParamType::String, "float64", "dtype of the rotations and their products while learning (paper: float64)", false, {}, {}, {"float64", "float32"}},
      {"subtract_embedding_mean", ParamType::Bool, "true", "centre embedding rows when fusing norms (the public codes do)"},
      {"online_down_hadamard", ParamType::Bool, "true", "R4: online Hadamard before down_proj"},
      {"online_qk_hadamard", ParamType::Bool, "true", "R3: online Hadamard on Q and K after RoPE"},
  };
  for (auto& o : own) p.push_back(o);
  return p;
}

void check_spinquant(const Params& p, Workspace& ws) {
  check_followed_by_quantizer(ws, kName);
  check_calibration(p, ws);
  if (p.get_int("nsamples") < p.get_int("batch"))
    throw UsageError(p.owner() + ": nsamples " + std::to_string(p.get_int("nsamples")) + " is less than one batch of " +
                     std::to_string(p.get_int("batch")));
}

QLAB_REGISTER(MethodInfo{kName, "SpinQuant: learned R1/R2 rotations (Cayley SGD), online R3/R4; follow with rtn or gptq",
                         spinquant_params(), [](const Params& p) { return std::make_unique<SpinQuant>(p); },
                         check_spinquant, {}, "spinquant-paper"});

}  // namespace
}  // namespace qlab
