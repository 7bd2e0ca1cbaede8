// qlab inspect: what a Hugging Face checkpoint directory holds, read from its
// config.json and safetensors headers (no weights are loaded), and the online
// ops of a checkpoint written by `qlab quantize`.
#include <boost/program_options.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/model/arch.h"
#include "core/model/checkpoint.h"
#include "core/model/tokenizer.h"
#include "core/quant/saved_quant.h"
#include "tools/qlab/checkpoint_command.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;
using json = nlohmann::json;

// The online ops a `qlab quantize` checkpoint brings, grouped: one entry per
// kind (with its bit width for quantizers) and site with the layer index as
// "*", e.g. {"op": "fake_quant int4", "site": "layers.*.q.input", "count": 32}.
static json online_ops(const std::string& dir) {
  std::map<std::pair<std::string, std::string>, int64_t> groups;
  for (const json& r : qlab::read_saved_op_records(dir)) {
    std::string op = r.value("kind", "?");
    const json args = r.value("args", json::object());
    if (op == "fake_quant" && args.is_object() && args.contains("bits")) op += " int" + args["bits"].dump();
    std::string site = r.value("site", "?");
    // "layers.12.q.input" -> "layers.*.q.input"
    if (site.rfind("layers.", 0) == 0) {
      size_t end = site.find('.', 7);
      site = "layers.*" + (end == std::string::npos ? "" : site.substr(end));
    }
    ++groups[{op, site}];
  }
  json out = json::array();
  for (const auto& [key, n] : groups) out.push_back({{"op", key.first}, {"site", key.second}, {"count", n}});
  return out;
}

static json describe(const std::string& dir) {
  qlab::Checkpoint ckpt = qlab::Checkpoint::open(dir);
  const qlab::ModelConfig& c = ckpt.config();
  int64_t params = 0;
  std::map<std::string, std::set<std::string>> dtypes;   // tensor group -> dtypes stored
  std::set<std::string> known;
  for (const qlab::TensorSlot& slot : qlab::expected_tensors(c)) {
    int64_t n = 1;
    for (int64_t d : slot.shape) n *= d;
    params += n;
    dtypes[qlab::role_group(slot.role)].insert(ckpt.dtype(slot.name));
    known.insert(slot.name);
  }
  int64_t other = 0;
  for (const auto& name : ckpt.names()) other += known.count(name) ? 0 : 1;

  std::string tokenizer;
  try {
    tokenizer = qlab::Tokenizer::load(dir)->kind();
  } catch (const std::exception& e) {
    tokenizer = std::string("none (") + e.what() + ")";
  }
  json rope = {{"theta", c.rope.theta}, {"type", c.rope.type}};
  if (c.rope.type == "llama3")
    rope.update({{"factor", c.rope.factor}, {"low_freq_factor", c.rope.low_freq_factor},
                 {"high_freq_factor", c.rope.high_freq_factor}, {"original_max_position", c.rope.original_max_position}});
  json groups = json::object();
  for (const auto& [group, set] : dtypes) groups[group] = std::vector<std::string>(set.begin(), set.end());
  return {{"dir", dir}, {"architecture", c.architecture}, {"model_type", c.model_type},
          {"layers", c.num_layers}, {"hidden", c.hidden_size}, {"heads", c.num_heads},
          {"kv_heads", c.num_kv_heads}, {"head_dim", c.head_dim}, {"intermediate", c.intermediate_size},
          {"vocab", c.vocab_size}, {"max_position", c.max_position}, {"rms_norm_eps", c.rms_norm_eps},
          {"rope", rope}, {"attention_bias", c.attention_bias}, {"sliding_window", c.sliding_window},
          {"tie_word_embeddings", c.tie_word_embeddings}, {"torch_dtype", c.torch_dtype},
          {"parameters", params}, {"dtypes", groups}, {"other_tensors", other}, {"tokenizer", tokenizer},
          {"online_ops", online_ops(dir)}};
}

static void print_text(const json& d) {
  auto line = [](const std::string& key, const std::string& value) {
    std::cout << key << std::string(key.size() < 14 ? 14 - key.size() : 1, ' ') << value << "\n";
  };
  auto s = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  line("checkpoint", s(d["dir"]));
  line("architecture", s(d["architecture"]) + " (" + s(d["model_type"]) + ")");
  line("layers", s(d["layers"]));
  line("hidden", s(d["hidden"]));
  line("heads", s(d["heads"]) + " (kv heads " + s(d["kv_heads"]) + ", head_dim " + s(d["head_dim"]) + ")");
  line("intermediate", s(d["intermediate"]));
  line("vocab", s(d["vocab"]));
  line("max_position", s(d["max_position"]));
  std::string rope = "theta " + s(d["rope"]["theta"]) + ", " + s(d["rope"]["type"]);
  if (d["rope"].contains("factor")) rope += " factor " + s(d["rope"]["factor"]);
  line("rope", rope);
  if (d["sliding_window"].get<int64_t>() > 0) line("sliding_window", s(d["sliding_window"]));
  line("qkv bias", d["attention_bias"].get<bool>() ? "yes" : "no");
  line("tied lm_head", d["tie_word_embeddings"].get<bool>() ? "yes" : "no");
  line("parameters", s(d["parameters"]));
  std::string dtypes;
  for (const auto& [group, list] : d["dtypes"].items()) {
    dtypes += (dtypes.empty() ? "" : ", ") + group + " ";
    for (size_t i = 0; i < list.size(); ++i) dtypes += (i ? "/" : "") + list[i].get<std::string>();
  }
  line("dtypes", dtypes);
  if (d["other_tensors"].get<int64_t>() > 0) line("other tensors", s(d["other_tensors"]));
  line("tokenizer", s(d["tokenizer"]));
  if (d["online_ops"].empty()) line("online ops", "none");
  for (const json& g : d["online_ops"])
    line("online ops", s(g["op"]) + " on " + s(g["site"]) + " (x" + s(g["count"]) + ")");
}

static int run_inspect(const std::vector<std::string>& args) {
  po::options_description opts("qlab inspect DIR [--json]");
  opts.add_options()
      ("help,h", "show this help")
      ("dir", po::value<std::string>(), "Hugging Face checkpoint directory (positional)")
      ("json", "print one JSON object instead of text");
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "inspect", {"dir"}, vm)) return qlab::kExitOk;
  json d = describe(vm["dir"].as<std::string>());
  if (vm.count("json"))
    std::cout << d.dump(2) << "\n";
  else
    print_text(d);
  return qlab::kExitOk;
}

QLAB_COMMAND(inspect, "inspect", "architecture, sizes, dtypes and tokenizer of a checkpoint directory", run_inspect);
