#include "plugins/common/learned.h"

#include <cmath>
#include <filesystem>
#include <torch/nn/functional/loss.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/model/checkpoint.h"
#include "core/quant/quantizer.h"
#include "core/registry.h"

namespace qlab {

namespace {
bool quantizes(const Step* s) { return s && (s->plugin == "rtn" || s->plugin == "gptq"); }
}  // namespace

void check_followed_by_quantizer(Workspace& ws, const std::string& method) {
  if (!quantizes(ws.next_step()))
    throw UsageError(method + ": must be followed by rtn or gptq (e.g. method: [" + method +
                     ", gptq]); the transforms are learned against that step's quantizers");
}

LearningQuantizers learning_quantizers(Workspace& ws, const std::string& method) {
  check_followed_by_quantizer(ws, method);
  const Step& next = *ws.next_step();
  LearningQuantizers q;
  read_activation_quant(next.params, ws.model(), q.online);
  if (next.plugin == "rtn") q.weights = read_weight_quant(next.params);
  return q;
}

void attach_learning_quantizers(Model& model, const LearningQuantizers& q) {
  attach_quantizers(model, q.online, kQuantTag);
  if (!q.weights.enabled()) return;
  const QuantConfig cfg = q.weights;
  WeightOp op{"fake_quant", kQuantTag, {}, [cfg](const Affine& a, torch::ScalarType dt) {
                return Affine{fake_quantize_weight(a.weight.to(torch::kFloat32), cfg).to(dt), a.bias};
              }};
  for (Layer& l : model.layers)
    for (const auto& s : layer_linears()) (l.*s.member).weight_ops.push_back(op);
}

namespace {
template <class Op, class Removed>
void take_quantizers(std::vector<Op>& list, std::vector<Removed>& removed) {
  size_t taken = 0;
  for (size_t i = 0; i < list.size();)
    if (list[i].tag == kQuantTag) {
      removed.push_back({&list, i + taken++, list[i]});   // its index in the list as it was
      list.erase(list.begin() + int64_t(i));
    } else {
      ++i;
    }
}
}  // namespace

QuantizersOff::QuantizersOff(Model& model) {
  for (auto& [name, lin] : model.all_linears()) take_quantizers(lin->weight_ops, weight_);
  for (OpSite& site : model.op_sites()) take_quantizers(*site.ops, online_);
}

QuantizersOff::~QuantizersOff() {
  // In order: each op goes back at the index it had with the earlier ones back.
  for (auto& r : weight_) r.list->insert(r.list->begin() + int64_t(r.index), r.op);
  for (auto& r : online_) r.list->insert(r.list->begin() + int64_t(r.index), r.op);
}

TransformCache transform_cache(Workspace& ws, const Params& p, const std::string& method, const LearningQuantizers& q,
                               const std::vector<std::string>& not_learned) {
  const RunSpec& run = ws.run();
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "model" << YAML::Value << run.config()["model"];
  if (p.has("dataset")) {
    auto d = ws.steps().datasets.find(p.get_string("dataset"));
    if (d != ws.steps().datasets.end())
      e << YAML::Key << "dataset" << YAML::Value << d->second.plugin << YAML::Key << "dataset_params" << YAML::Value
        << d->second.params.node();
  }
  if (run.config()["base_model"]) e << YAML::Key << "base_model" << YAML::Value << run.config()["base_model"];
  if (run.config()["data_root"]) e << YAML::Key << "data_root" << YAML::Value << run.config()["data_root"];
  // What the checkpoint and the calibration text hold: a changed file trains anew.
  std::vector<InputFile> read;
  for (const InputFile& f : run.inputs)
    if (f.role == "model" || f.role == "base_model" || (p.has("dataset") && f.role == "datasets." + p.get_string("dataset"))) read.push_back(f);
  e << YAML::Key << "inputs" << YAML::Value << inputs_identity(read);
  YAML::Node learned = YAML::Clone(p.node());
  for (const auto& k : not_learned) learned.remove(k);
  e << YAML::Key << "seed" << YAML::Value << run.seed << YAML::Key << "method" << YAML::Value << method
    << YAML::Key << "params" << YAML::Value << learned;
  e << YAML::Key << "quantizers" << YAML::Value << q.online.to_json().dump() << YAML::Key << "weights" << YAML::Value
    << q.weights.describe() << YAML::EndMap;
  TransformCache c;
  c.key = method + "-" + sha256_hex(e.c_str()).substr(0, 16);
  const std::string dir = run.cache_dir.empty() ? "results/transforms" : run.cache_dir;
  c.path = dir + "/" + c.key + ".safetensors";
  c.partial_path = dir + "/" + c.key + ".partial.safetensors";
  return c;
}

std::optional<std::map<std::string, torch::Tensor>> TransformCache::load() const {
  if (!std::filesystem::exists(path)) return std::nullopt;
  return load_tensors(path).tensors;
}

void TransformCache::store(const std::map<std::string, torch::Tensor>& tensors) const {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_tensors(path, tensors, {{"key", key}});
}

torch::Tensor batch_windows(int64_t nwindows, int64_t batch, int64_t step) {
  return (torch::arange(batch, torch::kLong) + step * batch) % nwindows;
}

torch::Tensor training_batch(const torch::Tensor& windows, int64_t batch, int64_t step) {
  return windows.index_select(0, batch_windows(windows.size(0), batch, step));
}

torch::Tensor next_token_loss(const Model& model, const torch::Tensor& ids) {
  auto on = ids.to(model.device);
  auto logits = model.forward(on);
  const int64_t V = logits.size(-1);
  return torch::nn::functional::cross_entropy(logits.narrow(1, 0, logits.size(1) - 1).reshape({-1, V}),
                                              on.narrow(1, 1, on.size(1) - 1).reshape({-1}));
}

double held_loss(const torch::Tensor& windows, int64_t batch, const std::function<torch::Tensor(int64_t)>& loss) {
  torch::NoGradGuard no_grad;
  const int64_t n = std::min<int64_t>(4, (windows.size(0) + batch - 1) / batch);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += loss(i).item<double>();
  return sum / double(n);
}

void record_training(RunOutput& out, const std::string& method, const TrainResult& r, const TransformCache& cache) {
  out.arrays[method + ".loss"] = r.losses;
  for (const auto& [k, v] : r.terms) out.arrays[method + "." + k] = v;
  if (!r.losses.empty()) {
    out.metrics[method + ".loss_first"] = r.losses.front();
    out.metrics[method + ".loss_last"] = r.losses.back();
  }
  if (std::isfinite(r.probe_before)) out.metrics[method + ".probe_loss_before"] = r.probe_before;
  if (std::isfinite(r.probe_after)) out.metrics[method + ".probe_loss_after"] = r.probe_after;
  out.metrics[method + ".steps_run"] = double(r.steps_run);
  out.metrics[method + ".resumed_at"] = double(r.resumed_at);
  out.timing[method + ".train"] = r.seconds;
  out.arrays[method + ".cache_key"] = std::vector<std::string>{cache.key};
}

std::vector<ParamSpec> training_params(const std::string& default_lr, int64_t default_steps, int64_t default_batch) {
  return {
      {"steps", ParamType::Int, std::to_string(default_steps), "optimiser steps", false, 0, 1000000},
      {"lr", ParamType::Float, default_lr, "learning rate (peak of the schedule)", false, 1e-8, 1e3},
      {"schedule", ParamType::String, "cosine", "learning-rate schedule", false, {}, {}, {"cosine", "linear", "constant"}},
      {"batch", ParamType::Int, std::to_string(default_batch), "calibration windows per step", false, 1, 4096},
      {"checkpoint_layers", ParamType::Bool, "true", "recompute each layer in the backward pass (memory for time)"},
      {"divergence_factor", ParamType::Float, "100", "stop when the loss exceeds this times the first step's", false, 1.0, 1e12},
  };
}

TrainOptions read_training(const Params& p, const std::string& method) {
  TrainOptions o;
  o.label = method;
  o.steps = p.get_int("steps");
  o.lr = p.get_float("lr");
  o.schedule = p.get_string("schedule");
  o.divergence_factor = p.get_float("divergence_factor");
  return o;
}

}  // namespace qlab
