#include "core/learn/train.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/progress.h"
#include "core/runner.h"

namespace qlab {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

torch::Tensor as_tensor(const std::vector<double>& v) {
  return torch::tensor(v.empty() ? std::vector<double>{} : v, torch::kFloat64);
}

std::vector<double> as_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void save_state(const std::string& path, const Optimizer& opt, const TrainResult& r, int64_t next_step,
                const std::string& fingerprint) {
  std::map<std::string, torch::Tensor> t;
  for (size_t i = 0; i < opt.params().size(); ++i) t["param." + std::to_string(i)] = opt.params()[i];
  for (const auto& [k, v] : opt.state()) t["optimizer." + k] = v;
  t["losses"] = as_tensor(r.losses);
  t["probe_before"] = torch::tensor(r.probe_before, torch::kFloat64);
  for (const auto& [k, v] : r.terms) t["term." + k] = as_tensor(v);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_tensors(path, t, {{"next_step", std::to_string(next_step)}, {"fingerprint", fingerprint}});
}

// Restores what save_state wrote; returns the step to continue from.
int64_t load_state(const std::string& path, Optimizer& opt, TrainResult& r, const std::string& fingerprint) {
  TensorFile f = load_tensors(path);
  auto meta = [&](const char* k) {
    auto it = f.metadata.find(k);
    if (it == f.metadata.end()) throw UsageError(path + ": not a training checkpoint (no '" + k + "')");
    return it->second;
  };
  if (meta("fingerprint") != fingerprint)
    throw UsageError(path + ": a training checkpoint of other settings (fingerprint " + meta("fingerprint") +
                     ", expected " + fingerprint + ")");
  std::map<std::string, torch::Tensor> state;
  for (const auto& [k, v] : f.tensors)
    if (k.rfind("optimizer.", 0) == 0) state[k.substr(10)] = v;
  for (size_t i = 0; i < opt.params().size(); ++i) {
    auto it = f.tensors.find("param." + std::to_string(i));
    const torch::Tensor& p = opt.params()[i];
    if (it == f.tensors.end() || it->second.sizes() != p.sizes())
      throw UsageError(path + ": parameter " + std::to_string(i) + " is missing or has another shape");
    torch::NoGradGuard no_grad;
    const_cast<torch::Tensor&>(p).copy_(it->second.to(p.device(), p.scalar_type()));
  }
  try {
    opt.load_state(state);
  } catch (const UsageError& e) {
    throw UsageError(path + ": " + e.what());
  }
  r.losses = as_vector(f.tensors.at("losses"));
  if (auto p = f.tensors.find("probe_before"); p != f.tensors.end()) r.probe_before = p->second.item<double>();
  for (const auto& [k, v] : f.tensors)
    if (k.rfind("term.", 0) == 0) r.terms[k.substr(5)] = as_vector(v);
  return std::stoll(meta("next_step"));
}
}  // namespace

double scheduled_lr(const TrainOptions& o, int64_t step) {
  if (step < o.warmup) return o.lr * double(step + 1) / double(o.warmup);
  const int64_t span = o.steps - o.warmup;
  const double progress = span > 0 ? double(step - o.warmup) / double(span) : 0.0;
  if (o.schedule == "cosine") return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + std::cos(M_PI * progress));
  if (o.schedule == "linear") return o.lr * (1 - progress);
  return o.lr;
}

TrainResult train(Optimizer& opt, const std::function<StepLoss(int64_t)>& loss_at, const TrainOptions& o) {
  TrainResult r;
  const bool keep = !o.checkpoint_path.empty();
  if (keep && std::filesystem::exists(o.checkpoint_path)) {
    r.resumed_at = load_state(o.checkpoint_path, opt, r, o.fingerprint);
    spdlog::info("{}: resuming at step {}/{} from {}", o.label, r.resumed_at, o.steps, o.checkpoint_path);
  }
  auto should_stop = o.should_stop ? o.should_stop : [] { return interrupt_requested(); };
  if (o.probe && r.resumed_at == 0) r.probe_before = o.probe();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = r.resumed_at; step < o.steps; ++step) {
    opt.set_lr(scheduled_lr(o, step));
    opt.zero_grad();
    StepLoss s = loss_at(step);
    const double loss = s.loss.item<double>();
    const double first = r.losses.empty() ? loss : r.losses.front();
    // |loss|: a contrastive loss (AAQ's) diverges toward minus infinity.
    if (!std::isfinite(loss) || std::abs(loss) > o.divergence_factor * std::max(std::abs(first), 1e-3))
      throw std::runtime_error(o.label + ": loss became " + std::to_string(loss) + " at step " + std::to_string(step + 1) +
                               "/" + std::to_string(o.steps) + " (first " + std::to_string(first) + ", lr " +
                               std::to_string(opt.lr()) + "): stopped; lower the learning rate");
    s.loss.backward();
    opt.step();
    r.losses.push_back(loss);
    for (const auto& [k, v] : s.terms) r.terms[k].push_back(v);
    ++r.steps_run;
    const double secs = seconds_since(t0);
    const double per_step = secs / double(r.steps_run);
    std::string terms;
    for (const auto& [k, v] : s.terms) terms += fmt::format(" | {} {:.4f}", k, v);
    spdlog::info("{}: step {}/{} | loss {:.4f}{} | {:.0f} tokens/s | ETA {}", o.label, step + 1, o.steps, loss, terms,
                 double(o.tokens_per_step) / per_step, format_duration(per_step * double(o.steps - step - 1)));
    const bool last = step + 1 == o.steps;
    const bool stop = !last && should_stop();
    if (keep && !last && (stop || (step + 1) % o.checkpoint_every == 0))
      save_state(o.checkpoint_path, opt, r, step + 1, o.fingerprint);
    if (stop)
      throw TrainingStopped(o.label + ": stopped after step " + std::to_string(step + 1) + "/" + std::to_string(o.steps) +
                            (keep ? "; state kept in " + o.checkpoint_path + ", the next run resumes from it" : ""));
  }
  r.seconds = seconds_since(t0);
  if (o.probe) r.probe_after = o.probe();
  if (keep) std::filesystem::remove(o.checkpoint_path);
  return r;
}

}  // namespace qlab
