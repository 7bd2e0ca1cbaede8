#include "plugins/common/learning_loss.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/learn/apc_loss.h"
#include "core/model/checkpoint.h"
#include "core/model/config.h"
#include "plugins/common/learned.h"

namespace qlab {

namespace {

ApcOptions read_apc(const Params& p) {
  ApcOptions o;
  o.alpha = p.get_float("alpha");
  o.k_pull = p.get_int("k_pull");
  o.k_push = p.get_int("k_push");
  o.renormalise = p.get_bool("renormalise");
  o.push_on_logits = p.get_string("push_set") == "logit";
  return o;
}

// The pull target's logits for ids (no grad).
torch::Tensor pull_logits(Model& trained, const Model* aligned, const torch::Tensor& on) {
  torch::NoGradGuard no_grad;
  if (aligned) return aligned->forward(on.to(aligned->device)).to(trained.device);
  QuantizersOff off(trained);
  return trained.forward(on);
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What must agree between the aligned model and its base for their
// distributions to be compared token by token: the vocabulary (tokenizer.json's
// vocab, or the SentencePiece tokenizer.model; the chat template and other
// tokenizer_config settings may differ) and the architecture's shapes. "" when
// they agree, else the first difference.
std::string pair_difference(const std::string& a, const std::string& b) {
  const ModelConfig ca = ModelConfig::from_file(a + "/config.json"), cb = ModelConfig::from_file(b + "/config.json");
  const std::vector<std::pair<const char*, std::pair<int64_t, int64_t>>> shapes = {
      {"vocab_size", {ca.vocab_size, cb.vocab_size}},     {"hidden_size", {ca.hidden_size, cb.hidden_size}},
      {"num_hidden_layers", {ca.num_layers, cb.num_layers}}, {"num_attention_heads", {ca.num_heads, cb.num_heads}},
      {"num_key_value_heads", {ca.num_kv_heads, cb.num_kv_heads}}, {"head_dim", {ca.head_dim, cb.head_dim}},
      {"intermediate_size", {ca.intermediate_size, cb.intermediate_size}}};
  for (const auto& [key, v] : shapes)
    if (v.first != v.second) return std::string(key) + " " + std::to_string(v.first) + " vs " + std::to_string(v.second);
  namespace fs = std::filesystem;
  if (fs::exists(a + "/tokenizer.json") && fs::exists(b + "/tokenizer.json")) {
    auto vocab = [](const std::string& f) {
      auto j = nlohmann::json::parse(file_text(f), nullptr, /*allow_exceptions=*/false);
      return j.is_object() && j.contains("model") && j["model"].contains("vocab") ? j["model"]["vocab"].dump() : file_text(f);
    };
    if (vocab(a + "/tokenizer.json") != vocab(b + "/tokenizer.json")) return "the vocabularies of tokenizer.json differ";
  } else if (fs::exists(a + "/tokenizer.model") && fs::exists(b + "/tokenizer.model") &&
             file_text(a + "/tokenizer.model") != file_text(b + "/tokenizer.model")) {
    return "tokenizer.model differs";
  }
  return "";
}

}  // namespace

std::vector<ParamSpec> learning_loss_params(const std::string& default_loss) {
  return {
      {"loss", ParamType::String, default_loss, "training objective: cross_entropy, kl (to the pull target), apc (AAQ)",
       false, {}, {}, {"cross_entropy", "kl", "apc"}},
      {"kl_topk", ParamType::Int, "0", "kl: 0 = the whole vocabulary; k = the target's top k, renormalised (OSTQuant's variant)",
       false, 0, 1 << 20},
      {"pull_target", ParamType::String, "self", "kl's teacher and apc's p_FT: self (quantizers off) or model (loaded separately)",
       false, {}, {}, {"self", "model"}},
      {"alpha", ParamType::Float, "0.75", "apc: weight of the push term (the authors' sweep: 0.1-1.0)", false, 0.0, 100.0},
      {"k_pull", ParamType::Int, "500", "apc: size of S_top, the aligned model's most likely tokens (authors' code: 1000)", false, 1, 1 << 20},
      {"k_push", ParamType::Int, "500", "apc: size of S_diff, the tokens where aligned and base differ most (sweep: 5-1000)", false, 1, 1 << 20},
      {"renormalise", ParamType::Bool, "true", "apc: renormalise each distribution over its subset (paper; authors' default flag: false)"},
      {"push_set", ParamType::String, "prob", "apc: S_diff by |p_FT - p_PT| (paper) or |logit difference| (authors' code)", false, {}, {}, {"prob", "logit"}},
      {"teacher_cache", ParamType::Bool, "true", "apc: the teachers' top-K targets computed once and cached (false: both teachers every step)"},
  };
}

void check_learning_loss(const Params& p, Workspace& ws) {
  const std::string loss = p.get_string("loss");
  if (loss == "apc" && !ws.run().config()["base_model"])
    throw UsageError(p.owner() + ".loss: apc needs `base_model:` (the pre-trained model the quantized one is pushed away from)");
  const int64_t V = ws.model_config().vocab_size;
  if (loss == "apc") {
    const std::string a = ws.run().config()["model"]["path"].as<std::string>(""), b = ws.run().config()["base_model"]["path"].as<std::string>("");
    if (!b.empty()) {
      const std::string diff = pair_difference(a, b);
      if (!diff.empty())
        throw UsageError(p.owner() + ": base_model " + b + " does not pair with model " + a + " (" + diff +
                         "; the two must share a tokenizer and an architecture)");
    }
  }
  std::vector<std::string> keys;
  if (loss == "apc") keys = {"k_pull", "k_push"};
  if (loss == "kl") keys = {"kl_topk"};
  for (const auto& k : keys)
    if (p.get_int(k) > V)
      throw UsageError(p.owner() + "." + k + ": " + std::to_string(p.get_int(k)) + " is larger than the vocabulary (" +
                       std::to_string(V) + " tokens)");
}

namespace {

// The teachers' targets of every calibration window, [windows, seqlen, k]
// each (int32 indices, float32 log-probs, CPU), from the cache or computed
// once and stored there.
ApcTargets teacher_targets(Workspace& ws, const Params& p, const torch::Tensor& windows, int64_t batch,
                           const Model* aligned, const ApcOptions& apc) {
  static const std::set<std::string> teacher_keys = {"dataset", "nsamples", "seqlen", "k_pull", "k_push",
                                                     "push_set", "pull_target", "subtract_embedding_mean"};
  std::vector<std::string> other;
  for (const auto& kv : p.node())
    if (!teacher_keys.count(kv.first.as<std::string>())) other.push_back(kv.first.as<std::string>());
  const TransformCache cache = transform_cache(ws, p, "teacher", LearningQuantizers{}, other);
  const int64_t n = windows.size(0), T = windows.size(1);
  const std::vector<std::pair<const char*, int64_t>> shapes = {
      {"pull_index", apc.k_pull}, {"pull_logp", apc.k_pull}, {"push_index", apc.k_push}, {"push_logp", apc.k_push}};
  if (std::filesystem::exists(cache.path)) {
    TensorFile f = load_tensors(cache.path);
    auto key = f.metadata.find("key");
    bool fits = key != f.metadata.end() && key->second == cache.key;
    for (const auto& [name, k] : shapes) {
      auto t = f.tensors.find(name);
      fits = fits && t != f.tensors.end() && t->second.sizes() == torch::IntArrayRef({n, T, k});
    }
    if (!fits)
      throw UsageError(cache.path + ": teacher targets of another model, calibration or K (key " +
                       (key == f.metadata.end() ? std::string("none") : key->second) + ", this run's " + cache.key +
                       "); delete the file to recompute");
    spdlog::info("{}: the teachers' top-K targets from the cache {} (no teacher forward)", p.owner(), cache.path);
    return {f.tensors.at("pull_index"), f.tensors.at("pull_logp"), f.tensors.at("push_index"), f.tensors.at("push_logp")};
  }
  Model& m = ws.model();
  const Model& base = ws.reference_model("base_model");
  std::vector<torch::Tensor> parts[4];
  for (int64_t s = 0; s < n; s += batch) {
    auto ids = windows.narrow(0, s, std::min(batch, n - s)).to(m.device);
    torch::Tensor pt;
    {
      torch::NoGradGuard no_grad;
      pt = base.forward(ids.to(base.device)).to(m.device);
    }
    ApcTargets t = apc_targets(pull_logits(m, aligned, ids), pt, apc);
    const torch::Tensor each[4] = {t.pull_index.to(torch::kInt32), t.pull_logp.to(torch::kFloat32),
                                   t.push_index.to(torch::kInt32), t.push_logp.to(torch::kFloat32)};
    for (int i = 0; i < 4; ++i) parts[i].push_back(each[i].cpu().view({ids.size(0), T, -1}));
  }
  std::map<std::string, torch::Tensor> out;
  for (int i = 0; i < 4; ++i) out[shapes[size_t(i)].first] = torch::cat(parts[i]);
  cache.store(out);
  spdlog::info("{}: the teachers' top-K targets of {} windows stored in {}", p.owner(), n, cache.path);
  return {out.at("pull_index"), out.at("pull_logp"), out.at("push_index"), out.at("push_logp")};
}

}  // namespace

LearningLoss make_learning_loss(Workspace& ws, const Params& p, const torch::Tensor& windows, int64_t batch) {
  const std::string loss = p.get_string("loss");
  auto ids_of = [windows, batch](const Model& m, int64_t step) { return training_batch(windows, batch, step).to(m.device); };
  if (loss == "cross_entropy")
    return [windows, batch](Model& m, int64_t step) { return StepLoss{next_token_loss(m, training_batch(windows, batch, step)), {}}; };
  const Model* aligned = p.get_string("pull_target") == "model" ? &ws.reference_model("model") : nullptr;
  if (loss == "kl") {
    const int64_t k = p.get_int("kl_topk");
    return [aligned, k, ids_of](Model& m, int64_t step) {
      auto on = ids_of(m, step);
      auto target = pull_logits(m, aligned, on);
      return StepLoss{teacher_kl(m.forward(on), target, k), {}};
    };
  }
  const ApcOptions apc = read_apc(p);
  auto terms = [](const ApcTerms& t) {
    return StepLoss{t.loss, {{"pull", t.pull.item<double>()}, {"push", t.push.item<double>()}}};
  };
  if (p.get_bool("teacher_cache")) {
    const ApcTargets all = teacher_targets(ws, p, windows, batch, aligned, apc);
    const int64_t n = windows.size(0);
    return [all, apc, n, batch, ids_of, terms](Model& m, int64_t step) {
      auto rows = batch_windows(n, batch, step);
      auto pick = [&](const torch::Tensor& t, bool index) {
        auto r = t.index_select(0, rows).reshape({-1, t.size(-1)}).to(m.device);
        return index ? r.to(torch::kLong) : r;
      };
      ApcTargets t{pick(all.pull_index, true), pick(all.pull_logp, false), pick(all.push_index, true), pick(all.push_logp, false)};
      return terms(apc_loss(m.forward(ids_of(m, step)), t, apc));
    };
  }
  const Model* base = &ws.reference_model("base_model");
  if (base->config.vocab_size != ws.model().config.vocab_size)
    throw UsageError(p.owner() + ": base_model has a vocabulary of " + std::to_string(base->config.vocab_size) +
                     " tokens, model of " + std::to_string(ws.model().config.vocab_size) + " (the pair must share a tokenizer)");
  return [aligned, base, apc, ids_of, terms](Model& m, int64_t step) {
    auto on = ids_of(m, step);
    auto ft = pull_logits(m, aligned, on);
    torch::Tensor pt;
    {
      torch::NoGradGuard no_grad;
      pt = base->forward(on.to(base->device)).to(m.device);
    }
    return terms(apc_loss(m.forward(on), ft, pt, apc));
  };
}

std::string describe_learning_loss(const Params& p) {
  const std::string loss = p.get_string("loss");
  if (loss == "cross_entropy") return loss;
  std::string d = loss + " (pull_target " + p.get_string("pull_target");
  if (loss == "kl") return d + ", kl_topk " + std::to_string(p.get_int("kl_topk")) + ")";
  return d + ", alpha " + std::to_string(p.get_float("alpha")) + ", k_pull " + std::to_string(p.get_int("k_pull")) +
         ", k_push " + std::to_string(p.get_int("k_push")) + ", push_set " + p.get_string("push_set") +
         ", renormalise " + (p.get_bool("renormalise") ? "true" : "false") + ")";
}

}  // namespace qlab
