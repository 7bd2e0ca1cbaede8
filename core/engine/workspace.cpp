#include "core/engine/workspace.h"

#include "core/error.h"
#include "core/model/chat_template.h"
#include "core/quant/saved_quant.h"
#include "core/registry.h"

namespace qlab {

namespace {
// Pristine models, shared by the runs of one process.
std::map<std::string, std::shared_ptr<const Model>>& model_cache() {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  return cache;
}
}  // namespace

Workspace::Workspace(const RunSpec& run) : run_(run), steps_(run.steps()) {
  if (run_.config()["model"]) {
    dtype_ = parse_dtype(model_field("model", "dtype", "float32"));
    device_ = parse_device(model_field("model", "device", "cpu"));
  }
}

std::string Workspace::model_field(const char* section, const char* key, const std::string& fallback) const {
  YAML::Node s = run_.config()[section];
  if (!s || !s[key] || s[key].IsNull()) return fallback;
  return s[key].as<std::string>();
}

std::string Workspace::cache_key(const char* section) const {
  std::string path = model_field(section, "path", "");
  if (path.empty()) return "";
  return path + "|" + model_field(section, "dtype", model_field("model", "dtype", "float32")) + "|" +
         model_field(section, "device", model_field("model", "device", "cpu")) + "|" + model_field(section, "offload", "false");
}

std::shared_ptr<const Model> Workspace::pristine(const char* section) {
  std::string path = model_field(section, "path", "");
  if (path.empty()) throw UsageError(run_.hash + ": this run needs `" + std::string(section) + ":` but the study has none");
  // The base model may name its own dtype and device; otherwise it follows the model's.
  torch::ScalarType dtype = parse_dtype(model_field(section, "dtype", model_field("model", "dtype", "float32")));
  torch::Device device = parse_device(model_field(section, "device", model_field("model", "device", "cpu")));
  bool offload = model_field(section, "offload", "false") == "true";
  const std::string key = cache_key(section);
  auto& cache = model_cache();
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto loaded = std::make_shared<Model>(offload ? Model::load_offloaded(path, device, dtype)
                                                  : Model::load(path, device, dtype));
    // A checkpoint written by `qlab quantize` brings its online transforms.
    attach_saved_quantization(*loaded, path);
    // The pristine model and base model of the current run stay; other keys go.
    const std::string other = cache_key(std::string(section) == "model" ? "base_model" : "model");
    for (auto c = cache.begin(); c != cache.end();) c = c->first == other ? std::next(c) : cache.erase(c);
    it = cache.emplace(key, std::move(loaded)).first;
  }
  return it->second;
}

Model& Workspace::load_model(const char* section, std::unique_ptr<Model>& slot) {
  if (slot) return *slot;
  auto model = pristine(section);
  slot = std::make_unique<Model>(copy_model(*model));
  // The copy already carries the saved ops; keep the record of them.
  if (std::string(section) == "model")
    if (auto saved = read_saved_quantization(model_field("model", "path", ""))) online_ = *saved;
  return *slot;
}

const Model& Workspace::reference_model(const char* section) {
  auto& ref = references_[section];
  if (!ref) ref = pristine(section);
  return *ref;
}

Model& Workspace::model() { return load_model("model", model_); }
Model& Workspace::base_model() { return load_model("base_model", base_model_); }

Tokenizer& Workspace::tokenizer() {
  if (!tokenizer_) {
    std::string path = model_field("model", "path", "");
    if (path.empty()) throw UsageError(run_.hash + ": this run needs a tokenizer but the study has no `model:`");
    tokenizer_ = Tokenizer::load(path);
  }
  return *tokenizer_;
}

std::string Workspace::chat_template() {
  std::string named = model_field("model", "chat_template", "");
  if (!named.empty()) return named;
  return detect_chat_template(model_config().model_type, tokenizer().chat_template());
}

const ModelConfig& Workspace::model_config() {
  if (!model_config_) {
    std::string path = model_field("model", "path", "");
    if (path.empty()) throw UsageError(run_.hash + ": this run needs `model:` but the study has none");
    model_config_ = std::make_unique<ModelConfig>(ModelConfig::from_file(path + "/config.json"));
  }
  return *model_config_;
}

ParamSpec allow_past_context_param() {
  return {"allow_past_context", ParamType::Bool, "false",
          "evaluate even past the model's context (max_position_embeddings); the number then means little"};
}

void check_context(Workspace& ws, const Params& p, int64_t tokens, const std::string& what) {
  const int64_t context = ws.model_config().max_position;
  if (tokens <= context || p.get_bool("allow_past_context")) return;
  std::string label = p.has("label") && p.get_string("label") != p.owner() ? " (label '" + p.get_string("label") + "')" : "";
  throw UsageError("evaluator '" + p.owner() + "'" + label + ": " + what + " is past the model's context of " +
                   std::to_string(context) + " tokens (max_position_embeddings in " +
                   ws.run().config()["model"]["path"].Scalar() + "/config.json); set allow_past_context: true to evaluate anyway");
}

const Dataset& Workspace::dataset(const std::string& name) {
  auto it = datasets_.find(name);
  if (it != datasets_.end()) return it->second;
  auto spec = steps_.datasets.find(name);
  if (spec == steps_.datasets.end()) throw UsageError("dataset '" + name + "' is not declared under `datasets:`");
  const DatasetInfo& info = Registry::instance().dataset(spec->second.plugin);
  return datasets_.emplace(name, info.load(spec->second.params)).first->second;
}

}  // namespace qlab
