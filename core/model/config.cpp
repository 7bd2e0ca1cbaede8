#include "core/model/config.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace qlab {

using json = nlohmann::json;

namespace {

// architecture -> model_type, for the families the runtime implements.
const std::map<std::string, std::string>& supported() {
  static const std::map<std::string, std::string> m = {
      {"LlamaForCausalLM", "llama"}, {"MistralForCausalLM", "mistral"}, {"Qwen2ForCausalLM", "qwen2"}};
  return m;
}

std::string supported_list() {
  std::string s;
  for (const auto& [arch, type] : supported()) s += (s.empty() ? "" : ", ") + arch;
  return s;
}

// Typed access to a config.json object, every error naming the file and key.
struct Reader {
  const json& j;
  const std::string& path;

  [[noreturn]] void fail(const std::string& problem) const { throw UsageError(path + ": " + problem); }

  const json* get(const json& obj, const std::string& key) const {
    auto it = obj.find(key);
    return (it == obj.end() || it->is_null()) ? nullptr : &*it;
  }
  int64_t integer(const json& obj, const std::string& key, const int64_t* fallback) const {
    const json* v = get(obj, key);
    if (!v) {
      if (!fallback) fail("missing required key '" + key + "'");
      return *fallback;
    }
    if (!v->is_number_integer()) fail("key '" + key + "' must be an integer, got " + v->dump());
    return v->get<int64_t>();
  }
  int64_t required(const std::string& key) const { return integer(j, key, nullptr); }
  int64_t optional(const std::string& key, int64_t fallback) const { return integer(j, key, &fallback); }
  double number(const json& obj, const std::string& key, double fallback) const {
    const json* v = get(obj, key);
    if (!v) return fallback;
    if (!v->is_number()) fail("key '" + key + "' must be a number, got " + v->dump());
    return v->get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    const json* v = get(j, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail("key '" + key + "' must be true or false, got " + v->dump());
    return v->get<bool>();
  }
  std::string string(const json& obj, const std::string& key, const std::string& fallback) const {
    const json* v = get(obj, key);
    if (!v) return fallback;
    if (!v->is_string()) fail("key '" + key + "' must be a string, got " + v->dump());
    return v->get<std::string>();
  }
  // bos_token_id / eos_token_id: an integer, a list of them, or absent.
  std::vector<int64_t> ids(const std::string& key) const {
    const json* v = get(j, key);
    if (!v) return {};
    if (v->is_number_integer()) return {v->get<int64_t>()};
    std::vector<int64_t> out;
    if (v->is_array())
      for (const json& e : *v) {
        if (!e.is_number_integer()) fail("key '" + key + "' must hold integers, got " + e.dump());
        out.push_back(e.get<int64_t>());
      }
    else
      fail("key '" + key + "' must be an integer or a list of integers, got " + v->dump());
    return out;
  }
  void positive(const std::string& key, int64_t v) const {
    if (v <= 0) fail("key '" + key + "' must be positive, got " + std::to_string(v));
  }

  // rope_scaling (older configs) and rope_parameters (newer) share the keys
  // rope_type (or "type"), factor, low/high_freq_factor and
  // original_max_position_embeddings; rope_parameters also holds rope_theta.
  void rope(const json& obj, const std::string& where, RopeConfig& rope) const {
    if (!obj.is_object()) fail("key '" + where + "' must be an object, got " + obj.dump());
    rope.theta = number(obj, "rope_theta", rope.theta);
    std::string type = string(obj, "rope_type", string(obj, "type", "default"));
    if (type == "default") {
      rope.type = "default";
      return;
    }
    if (type != "llama3")
      fail("key '" + where + "': rope type '" + type + "' is not supported (supported: default, llama3)");
    rope.type = "llama3";
    if (!get(obj, "factor")) fail("key '" + where + "' of rope type llama3 needs 'factor'");
    rope.factor = number(obj, "factor", rope.factor);
    rope.low_freq_factor = number(obj, "low_freq_factor", rope.low_freq_factor);
    rope.high_freq_factor = number(obj, "high_freq_factor", rope.high_freq_factor);
    rope.original_max_position = integer(obj, "original_max_position_embeddings", &rope.original_max_position);
    if (rope.factor <= 0 || rope.low_freq_factor <= 0 || rope.high_freq_factor <= rope.low_freq_factor)
      fail("key '" + where + "': llama3 rope needs factor > 0 and high_freq_factor > low_freq_factor > 0");
  }
};

}  // namespace

ModelConfig ModelConfig::from_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(path + ": cannot read (missing or unreadable)");
  std::stringstream ss;
  ss << f.rdbuf();
  return from_json_text(ss.str(), path);
}

ModelConfig ModelConfig::from_json_text(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    std::string m = e.what();
    throw UsageError(path + ": not valid JSON: " + m.substr(m.find("] ") == std::string::npos ? 0 : m.find("] ") + 2));
  }
  if (!j.is_object()) throw UsageError(path + ": not a JSON object");
  Reader r{j, path};
  ModelConfig c;

  const json* archs = r.get(j, "architectures");
  if (!archs) r.fail("missing required key 'architectures' (supported: " + supported_list() + ")");
  if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    r.fail("key 'architectures' must be a non-empty list of strings, got " + archs->dump());
  c.architecture = (*archs)[0].get<std::string>();
  auto arch = supported().find(c.architecture);
  if (arch == supported().end())
    r.fail("architecture '" + c.architecture + "' is not supported (supported: " + supported_list() + ")");
  c.model_type = r.string(j, "model_type", arch->second);

  c.vocab_size = r.required("vocab_size");
  c.hidden_size = r.required("hidden_size");
  c.intermediate_size = r.required("intermediate_size");
  c.num_layers = r.required("num_hidden_layers");
  c.num_heads = r.required("num_attention_heads");
  c.max_position = r.required("max_position_embeddings");
  for (auto [key, v] : {std::pair<const char*, int64_t>{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
                        {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_layers},
                        {"num_attention_heads", c.num_heads}, {"max_position_embeddings", c.max_position}})
    r.positive(key, v);
  c.num_kv_heads = r.optional("num_key_value_heads", c.num_heads);
  r.positive("num_key_value_heads", c.num_kv_heads);
  if (c.num_heads % c.num_kv_heads != 0)
    r.fail("num_attention_heads " + std::to_string(c.num_heads) + " is not a multiple of num_key_value_heads " +
           std::to_string(c.num_kv_heads));
  if (!r.get(j, "head_dim") && c.hidden_size % c.num_heads != 0)
    r.fail("hidden_size " + std::to_string(c.hidden_size) + " is not a multiple of num_attention_heads " +
           std::to_string(c.num_heads) + " and no head_dim is given");
  c.head_dim = r.optional("head_dim", c.hidden_size / c.num_heads);
  r.positive("head_dim", c.head_dim);
  if (c.head_dim % 2 != 0) r.fail("head_dim " + std::to_string(c.head_dim) + " must be even for RoPE");

  c.rms_norm_eps = r.number(j, "rms_norm_eps", c.rms_norm_eps);
  std::string act = r.string(j, "hidden_act", "silu");
  if (act != "silu") r.fail("hidden_act '" + act + "' is not supported (supported: silu)");

  c.rope.theta = r.number(j, "rope_theta", c.rope.theta);
  if (const json* s = r.get(j, "rope_scaling")) r.rope(*s, "rope_scaling", c.rope);
  if (const json* p = r.get(j, "rope_parameters")) r.rope(*p, "rope_parameters", c.rope);

  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  if (c.model_type == "qwen2" || c.architecture == "Qwen2ForCausalLM") {
    c.attention_bias = true;   // Qwen2 always has q/k/v biases; its config has no key for it
    // Qwen2 slides only in layers from max_window_layers on; with none of
    // those, every layer attends fully (sliding_window stays 0).
    if (r.boolean("use_sliding_window", false) && r.optional("max_window_layers", c.num_layers) < c.num_layers)
      r.fail("use_sliding_window with max_window_layers < num_hidden_layers (a window in some layers only) is not supported");
  } else {
    if (r.boolean("attention_bias", false))
      r.fail("attention_bias true (biases on q/k/v/o) is not supported for " + c.architecture);
    if (r.boolean("mlp_bias", false)) r.fail("mlp_bias true is not supported");
    if (c.architecture == "MistralForCausalLM") c.sliding_window = r.optional("sliding_window", 0);
  }
  if (c.sliding_window < 0) r.fail("sliding_window must not be negative");

  c.bos_token_ids = r.ids("bos_token_id");
  c.eos_token_ids = r.ids("eos_token_id");
  c.torch_dtype = r.string(j, "torch_dtype", r.string(j, "dtype", ""));
  return c;
}

std::string ModelConfig::to_json_text() const {
  auto ids = [](const std::vector<int64_t>& v) -> json {
    if (v.empty()) return nullptr;
    if (v.size() == 1) return v[0];
    return v;
  };
  json j = {
      {"architectures", {architecture}},
      {"model_type", model_type},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_layers},
      {"num_attention_heads", num_heads},
      {"num_key_value_heads", num_kv_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", max_position},
      {"rms_norm_eps", rms_norm_eps},
      {"hidden_act", "silu"},
      {"rope_theta", rope.theta},
      {"rope_scaling", nullptr},
      {"tie_word_embeddings", tie_word_embeddings},
      {"bos_token_id", ids(bos_token_ids)},
      {"eos_token_id", ids(eos_token_ids)},
  };
  if (rope.type == "llama3")
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", rope.factor},
                         {"low_freq_factor", rope.low_freq_factor},
                         {"high_freq_factor", rope.high_freq_factor},
                         {"original_max_position_embeddings", rope.original_max_position}};
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  if (architecture == "Qwen2ForCausalLM") {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
    j["max_window_layers"] = num_layers;
  } else {
    j["attention_bias"] = false;
    j["mlp_bias"] = false;
    if (architecture == "MistralForCausalLM") j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
  }
  return j.dump(2) + "\n";
}

}  // namespace qlab
