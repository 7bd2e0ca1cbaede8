#include "core/study.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>

#include "core/entry_template.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/registry.h"
#include "core/suggest.h"
#include "core/validate.h"
#include "core/yaml_util.h"

namespace fs = std::filesystem;

namespace qlab {

namespace {

const std::vector<std::string> kTopLevelKeys = {"name",       "output", "model", "base_model", "datasets", "method",
                                                "evaluators", "sweep",  "seed",  "data_root",  "tags"};

ParamSpec spec(std::string name, ParamType type, std::string default_value, std::string doc) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(default_value);
  s.doc = std::move(doc);
  return s;
}

// `model:` and `base_model:` share one schema, validated like plugin parameters.
std::vector<ParamSpec> model_schema() {
  ParamSpec path = spec("path", ParamType::String, "", "Hugging Face checkpoint folder");
  path.required = true;
  ParamSpec dtype = spec("dtype", ParamType::String, "float32", "precision the model runs in");
  dtype.choices = {"float32", "bfloat16", "float16"};
  return {path, dtype, spec("device", ParamType::String, "cpu", "cpu, cuda or cuda:N"),
          spec("chat_template", ParamType::String, "", "chat template name or file (default: the model's own)"),
          spec("offload", ParamType::Bool, "false", "keep layers on the CPU, moving each to the device when it runs")};
}

// The scalar top-level keys that belong to each run.
std::vector<ParamSpec> run_schema() {
  ParamSpec seed = spec("seed", ParamType::Int, "0", "seed of every random choice in the run");
  seed.min = 0;
  return {seed, spec("data_root", ParamType::String, "''", "folder that relative data set paths are read from")};
}

// Lookups through a const node: yaml-cpp's non-const operator[] inserts the key.
YAML::Node child(const YAML::Node& map, const std::string& key) {
  return map.IsMap() ? map[key] : YAML::Node();
}

// The key node of map[key] (for "file:line:col of the key"), or the map itself.
YAML::Node key_of(const YAML::Node& map, const std::string& key) {
  if (map.IsMap())
    for (const auto& kv : map)
      if (kv.first.Scalar() == key) return kv.first;
  return map;
}

std::string join(const std::vector<std::string>& parts, size_t n, const char* sep = ".") {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? sep : "") + parts[i];
  return s;
}

std::vector<std::string> split_path(const std::string& dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    parts.push_back(dotted.substr(start, dot - start));
    if (parts.back().empty()) return {};
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// A copy of `node` with the value at path `parts` replaced by `value`. Untouched
// subtrees are shared with the original, so they keep their file positions. A
// missing map key may be created as the last part only (it is then checked
// against the schema like any key); `origin` locates it in messages.
YAML::Node with_value(const YAML::Node& node, const std::vector<std::string>& parts, size_t i,
                      const YAML::Node& value, Locator& loc, const std::string& origin,
                      const std::function<UsageError(const std::string&)>& fail) {
  if (i == parts.size()) return value;
  const std::string& part = parts[i];
  if (node.IsMap() || node.IsNull()) {
    YAML::Node out(YAML::NodeType::Map);
    bool found = false;
    if (node.IsMap())
      for (const auto& kv : node) {
        bool here = !found && kv.first.Scalar() == part;
        out.force_insert(kv.first, here ? with_value(kv.second, parts, i + 1, value, loc, origin, fail) : kv.second);
        found |= here;
      }
    if (!found) {
      if (i + 1 != parts.size()) throw fail("there is no '" + join(parts, i + 1) + "'");
      YAML::Node key(part);
      loc.note(key, origin);
      out.force_insert(key, value);
    }
    return out;
  }
  if (node.IsSequence()) {
    bool digits = part.find_first_not_of("0123456789") == std::string::npos;
    size_t index = digits && part.size() < 9 ? std::stoul(part) : node.size();
    if (index >= node.size())
      throw fail("'" + join(parts, i) + "' is a list of " + std::to_string(node.size()) + ", '" + part +
                 "' is not an index of it");
    YAML::Node out(YAML::NodeType::Sequence);
    for (size_t j = 0; j < node.size(); ++j)
      out.push_back(j == index ? with_value(node[j], parts, i + 1, value, loc, origin, fail) : node[j]);
    return out;
  }
  throw fail("'" + join(parts, i) + "' is a single value, it has no '" + part + "'");
}

// A deep copy without file positions (a parsed override would otherwise point
// at line 1 of the study), each node noted as coming from `origin`.
YAML::Node unmarked_copy(const YAML::Node& n, Locator& loc, const std::string& origin) {
  YAML::Node out;
  if (n.IsScalar()) {
    out = YAML::Node(n.Scalar());
    out.SetTag(n.Tag());
  } else if (n.IsSequence()) {
    out = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& e : n) out.push_back(unmarked_copy(e, loc, origin));
  } else if (n.IsMap()) {
    out = YAML::Node(YAML::NodeType::Map);
    for (const auto& kv : n) out.force_insert(unmarked_copy(kv.first, loc, origin), unmarked_copy(kv.second, loc, origin));
  } else {
    out = YAML::Node(YAML::NodeType::Null);
  }
  loc.note(out, origin);
  return out;
}

YAML::Node apply_override(const YAML::Node& root, const std::string& text, Locator& loc) {
  std::string origin = loc.file() + ": override '" + text + "'";
  size_t eq = text.find('=');
  if (eq == std::string::npos) throw UsageError(origin + ": expected key=value");
  std::vector<std::string> parts = split_path(text.substr(0, eq));
  if (parts.empty()) throw UsageError(origin + ": '" + text.substr(0, eq) + "' is not a dotted path like method.0.gptq.w_bits");
  YAML::Node value;
  try {
    value = YAML::Load(text.substr(eq + 1));
  } catch (const YAML::ParserException& e) {
    throw UsageError(origin + ": malformed YAML value: " + e.msg);
  }
  return with_value(root, parts, 0, unmarked_copy(value, loc, origin), loc, origin,
                    [&](const std::string& m) { return UsageError(origin + ": " + m); });
}

// One sweep axis: a dotted path into the config and the values it takes.
struct Axis {
  std::string path;
  std::vector<std::string> parts;
  YAML::Node key;
  std::vector<YAML::Node> values;
};

// Axes varied together (a zip, or a single grid axis); runs are the cartesian
// product of the groups.
using Group = std::vector<Axis>;

Axis parse_axis(const std::string& path, const YAML::Node& key, const YAML::Node& values, const Locator& loc) {
  Axis a{path, split_path(path), key, {}};
  if (a.parts.empty()) throw loc.error(key, "sweep axis '" + path + "' is not a dotted path like method.0.gptq.w_bits");
  if (a.parts[0] == "name" || a.parts[0] == "output" || a.parts[0] == "sweep")
    throw loc.error(key, "sweep axis '" + path + "': '" + a.parts[0] + "' belongs to the whole study and cannot be swept");
  if (!values.IsSequence()) throw loc.error(values, "sweep axis '" + path + "' must be a list of values");
  if (values.size() == 0) throw loc.error(key, "sweep axis '" + path + "' has no values (an empty list gives no runs)");
  for (const auto& v : values) a.values.push_back(v);
  return a;
}

std::vector<Group> parse_sweep(const YAML::Node& sweep, const Locator& loc) {
  std::vector<Group> groups;
  if (!sweep.IsDefined() || sweep.IsNull()) return groups;
  if (!sweep.IsMap()) throw loc.error(sweep, "sweep must be a map with grid, zip and/or seeds");
  std::set<std::string> paths;
  auto add = [&](Group g) {
    for (const auto& a : g)
      if (!paths.insert(a.path).second) throw loc.error(a.key, "sweep axis '" + a.path + "' is swept twice");
    groups.push_back(std::move(g));
  };
  Group zip, seeds;
  for (const auto& kv : sweep) {
    std::string k = kv.first.Scalar();
    if (k == "grid" || k == "zip") {
      if (!kv.second.IsMap()) throw loc.error(kv.second, "sweep " + k + " must be a map of axis path -> list of values");
      for (const auto& axis : kv.second) {
        Axis a = parse_axis(axis.first.Scalar(), axis.first, axis.second, loc);
        if (k == "grid") add({a});
        else zip.push_back(a);
      }
    } else if (k == "seeds") {
      seeds.push_back(parse_axis("seed", kv.first, kv.second, loc));
    } else {
      throw loc.error(kv.first, "unknown key '" + k + "' in sweep" + did_you_mean(k, {"grid", "zip", "seeds"}));
    }
  }
  for (const auto& a : zip)
    if (a.values.size() != zip[0].values.size())
      throw loc.error(a.key, "zip axis '" + a.path + "' has " + std::to_string(a.values.size()) + " values but '" +
                                 zip[0].path + "' has " + std::to_string(zip[0].values.size()) +
                                 " (zipped axes vary together and need equal lengths)");
  if (!zip.empty()) add(zip);
  if (!seeds.empty()) add(seeds);  // innermost: the runs of one setting sit together
  return groups;
}

// A step written as `name` or `{name: {params}}`.
struct StepNode {
  std::string name;
  YAML::Node name_node, params;
};

std::vector<StepNode> parse_steps(const YAML::Node& node, const std::string& kind, const Locator& loc) {
  std::vector<StepNode> steps;
  if (!node.IsDefined() || node.IsNull()) return steps;
  auto one = [&](const YAML::Node& s) {
    if (s.IsScalar()) return StepNode{s.Scalar(), s, YAML::Node()};
    if (s.IsMap() && s.size() == 1) {
      auto kv = *s.begin();
      return StepNode{kv.first.Scalar(), kv.first, kv.second};
    }
    throw loc.error(s, "a " + kind + " step is a plugin name or {name: {params}}, like {gptq: {w_bits: 4}}");
  };
  if (node.IsSequence())
    for (const auto& s : node) steps.push_back(one(s));
  else
    steps.push_back(one(node));
  return steps;
}

bool valid_device(const std::string& d) {
  if (d == "cpu" || d == "cuda") return true;
  std::string n = d.substr(std::min<size_t>(5, d.size()));
  return d.rfind("cuda:", 0) == 0 && !n.empty() && n.find_first_not_of("0123456789") == std::string::npos;
}

Params validate_model(const YAML::Node& cfg, const std::string& key, const Locator& loc) {
  YAML::Node node = child(cfg, key);
  Params p = validate_params(node, model_schema(), key, key, loc, key_of(cfg, key));
  std::string device = p.get_string("device");
  if (!valid_device(device))
    throw loc.error(child(node, "device"), "'device' for " + key + ": '" + device + "' is not cpu, cuda or cuda:N");
  std::string path = p.get_string("path");
  std::error_code ec;
  if (!fs::exists(path, ec)) throw loc.error(key_of(node, "path"), key + " path '" + path + "' does not exist");
  return p;
}

// The parameters a reader is given: each relative path parameter joined to
// data_root (absolute already). The config keeps the paths as written, so a
// study's identity does not depend on where the checkout lies; this is the one
// place they are resolved.
Params with_data_root(const Params& p, const std::vector<ParamSpec>& specs, const fs::path& data_root) {
  YAML::Node values = YAML::Clone(p.node());
  for (const auto& s : specs)
    if (s.is_path && p.has(s.name) && !p.get_string(s.name).empty() && fs::path(p.get_string(s.name)).is_relative())
      values[s.name] = (data_root / p.get_string(s.name)).lexically_normal().string();
  return Params(p.owner(), values);
}

// A run's config resolved one part at a time (a part: top-level keys validated
// together), so that a sweep resolves again only the parts its axes reach and
// shares the rest, text and validated steps, with its first run: validating
// and emitting every part of every run dominated a large sweep's expansion.
enum Part { kModels, kScalars, kDatasets, kMethods, kEvaluators, kTags, kPartCount };

// The top-level keys of each part.
const std::vector<std::vector<std::string>> kPartKeys = {
    {"model", "base_model"}, {"seed", "data_root"}, {"datasets"}, {"method"}, {"evaluators"}, {"tags"}};

// The parts a sweep axis at top-level key `key` changes: its own, and those
// that read it (data sets are placed by data_root; method and evaluator steps
// name data sets).
std::vector<Part> parts_reached(const std::string& key) {
  if (key == "data_root") return {kScalars, kDatasets};
  if (key == "datasets") return {kDatasets, kMethods, kEvaluators};
  for (int p = 0; p < kPartCount; ++p)
    for (const auto& k : kPartKeys[p])
      if (k == key) return {Part(p)};
  return {};   // not a key of the config: the run's config does not change (the duplicate check reports it)
}

struct Resolved {
  std::map<std::string, std::string> entries;     // top-level key -> canonical_entry text
  // (role, checkpoint folder): model first, then base_model, the order their
  // fingerprints enter the hash.
  std::vector<std::pair<std::string, std::string>> model_paths;
  uint64_t seed = 0;
  fs::path data_root;
  RunSteps steps;
  std::vector<std::string> dataset_names;
};

void resolve_models(const YAML::Node& cfg, const Locator& loc, Resolved& r) {
  r.model_paths.clear();
  for (const char* m : {"model", "base_model"}) {
    r.entries.erase(m);
    if (!child(cfg, m).IsDefined()) continue;
    Params p = validate_model(cfg, m, loc);
    r.entries[m] = canonical_entry(m, p.node());
    r.model_paths.emplace_back(m, p.get_string("path"));
  }
}

void resolve_scalars(const YAML::Node& cfg, const Locator& loc, Resolved& r) {
  YAML::Node scalars(YAML::NodeType::Map);
  for (const auto& s : run_schema())
    if (child(cfg, s.name).IsDefined()) scalars.force_insert(key_of(cfg, s.name), child(cfg, s.name));
  Params top = validate_params(scalars, run_schema(), "study", "study", loc, cfg);
  for (const auto& kv : top.node()) r.entries[kv.first.Scalar()] = canonical_entry(kv.first.Scalar(), kv.second);
  r.seed = uint64_t(top.get_int("seed"));
  r.data_root = fs::absolute(top.get_string("data_root").empty() ? "." : top.get_string("data_root"));
}

void resolve_datasets(const YAML::Node& cfg, const Locator& loc, Resolved& r) {
  const Registry& reg = Registry::instance();
  r.steps.datasets.clear(), r.dataset_names.clear();
  YAML::Node datasets = child(cfg, "datasets");
  YAML::Node out_datasets(YAML::NodeType::Map);
  if (datasets.IsDefined() && !datasets.IsNull()) {
    if (!datasets.IsMap()) throw loc.error(datasets, "datasets must be a map of name -> {reader: {params}}");
    for (const auto& kv : datasets) {
      std::string name = kv.first.Scalar();
      std::vector<StepNode> reader = parse_steps(kv.second, "data set", loc);
      if (reader.size() != 1) throw loc.error(kv.second, "data set '" + name + "' needs exactly one reader: {reader: {params}}");
      const StepNode& s = reader[0];
      const DatasetInfo* info;
      try {
        info = &reg.dataset(s.name);
      } catch (const UsageError& e) {
        throw loc.error(s.name_node, e.what());
      }
      Params p = validate_params(s.params, info->params, s.name, "dataset '" + s.name + "' (data set '" + name + "')",
                                 loc, s.name_node);
      r.steps.datasets[name] = Step{s.name, with_data_root(p, info->params, r.data_root)};
      YAML::Node entry(YAML::NodeType::Map);
      entry[s.name] = p.node();
      out_datasets[name] = entry;
      r.dataset_names.push_back(name);
    }
  }
  r.entries["datasets"] = canonical_entry("datasets", out_datasets);
}

// A method step's parameters with its preset's settings where the step
// leaves them out (MethodInfo::presets); `auto` resolved from earlier steps.
// The given nodes are shared, not copied, so errors keep their file locations.
YAML::Node with_preset(const StepNode& s, const std::vector<Step>& earlier) {
  const Registry& reg = Registry::instance();
  const MethodInfo& info = reg.method(s.name);
  if (info.presets.empty() || (s.params.IsDefined() && !s.params.IsNull() && !s.params.IsMap())) return s.params;
  YAML::Node given(YAML::NodeType::Map);
  if (s.params.IsMap())   // all but preset, which is set below on a fresh node (assigning would write through)
    for (const auto& kv : s.params)
      if (kv.first.Scalar() != "preset") given.force_insert(kv.first, kv.second);
  const YAML::Node asked = child(s.params, "preset");
  std::string name = asked.IsDefined() && asked.IsScalar() ? asked.Scalar() : "auto";
  if (name == "auto") {
    name = "none";
    for (auto it = earlier.rbegin(); it != earlier.rend(); ++it)
      if (const std::string& p = reg.method(it->plugin).paper_preset; !p.empty()) {
        name = p;
        break;
      }
  }
  auto preset = info.presets.find(name);
  if (preset == info.presets.end()) return s.params;   // the schema's choices report the name, located
  given["preset"] = name;
  for (const auto& [k, v] : preset->second)
    if (!child(s.params, k).IsDefined()) given[k] = YAML::Load(v);
  return given;
}

// The steps under `key` ("method" or "evaluators"), each validated against
// its plugin's schema; a parameter named `dataset` must name an entry of `datasets:`.
template <class Lookup>
std::vector<Step> resolve_steps(const YAML::Node& cfg, const std::string& key, const std::string& kind, Lookup lookup,
                                const Locator& loc, Resolved& r) {
  std::vector<Step> steps;
  std::vector<std::pair<std::string, YAML::Node>> entry;
  for (const StepNode& s : parse_steps(child(cfg, key), kind, loc)) {
    const std::vector<ParamSpec>* specs;
    try {
      specs = &lookup(s.name).params;
    } catch (const UsageError& e) {
      throw loc.error(s.name_node, e.what());
    }
    const YAML::Node given = kind == "method" ? with_preset(s, steps) : s.params;
    Params p = validate_params(given, *specs, s.name, kind + " '" + s.name + "'", loc, s.name_node);
    if (p.has("dataset") && p.node()["dataset"].IsScalar()) {
      std::string ref = p.get_string("dataset");
      if (!ref.empty() && !r.steps.datasets.count(ref)) {   // "" : the plugin's way of saying "none"
        YAML::Node at = child(s.params, "dataset");
        throw loc.error(at.IsDefined() ? at : s.name_node,
                        "data set '" + ref + "' is not defined under datasets" + did_you_mean(ref, r.dataset_names));
      }
    }
    steps.push_back(Step{s.name, p});
    entry.emplace_back(s.name, p.node());
  }
  r.entries[key] = canonical_steps_entry(key, entry);
  return steps;
}

void resolve_methods(const YAML::Node& cfg, const Locator& loc, Resolved& r) {
  const Registry& reg = Registry::instance();
  r.steps.methods = resolve_steps(cfg, "method", "method", [&](const std::string& n) -> const MethodInfo& { return reg.method(n); },
                            loc, r);
}

void resolve_evaluators(const YAML::Node& cfg, const Locator& loc, const StudyRules& rules, Resolved& r) {
  const Registry& reg = Registry::instance();
  r.steps.evaluators = resolve_steps(cfg, "evaluators", "evaluator",
                               [&](const std::string& n) -> const EvaluatorInfo& { return reg.evaluator(n); }, loc, r);
  YAML::Node evaluator_nodes = child(cfg, "evaluators");
  if (rules.needs_evaluators && r.steps.evaluators.empty())
    throw loc.error(evaluator_nodes.IsDefined() ? evaluator_nodes : key_of(cfg, "evaluators"),
                    "no evaluators: every run would be complete with no metrics; list at least one under `evaluators:`");
  std::map<std::string, size_t> labels;
  for (size_t i = 0; i < r.steps.evaluators.size(); ++i) {
    const YAML::Node at = evaluator_nodes.IsSequence() ? evaluator_nodes[i] : evaluator_nodes;
    std::string label = r.steps.evaluators[i].params.get_string("label");
    // The label prefixes metric names ("label.ppl"), which are HDF5 dataset names.
    if (label.empty() || label.find('/') != std::string::npos || label == ".")
      throw loc.error(at, "'label' for evaluator '" + r.steps.evaluators[i].plugin + "': '" + label +
                              "' cannot prefix metric names (it must be non-empty, without '/')");
    auto [it, fresh] = labels.emplace(label, i);
    if (!fresh)
      throw loc.error(at, "evaluators " + std::to_string(it->second) + " and " + std::to_string(i) + " both have label '" +
                              label + "': give each a distinct `label` so their metrics do not collide");
  }
}

// Free-form labels for tables ("precision: W4A8"): part of the config, so a
// zip axis can pair them with the pipelines they describe.
void resolve_tags(const YAML::Node& cfg, const Locator& loc, Resolved& r) {
  r.entries.erase("tags");
  YAML::Node tags = child(cfg, "tags");
  if (!tags.IsDefined() || tags.IsNull()) return;
  if (!tags.IsMap()) throw loc.error(tags, "tags must be a map of name -> value (labels for tables)");
  YAML::Node out_tags(YAML::NodeType::Map);
  for (const auto& kv : tags) {
    if (!kv.second.IsScalar())
      throw loc.error(kv.second, "tag '" + kv.first.Scalar() + "' must be a single value, not a list or map");
    out_tags[kv.first.Scalar()] = kv.second.Scalar();
  }
  r.entries["tags"] = canonical_entry("tags", out_tags);
}

// Checks the parts of a run's config against the schemas, in the order a
// reader meets them (so the first error is the first in the file's order).
void resolve_parts(const YAML::Node& cfg, const std::vector<bool>& which, const Locator& loc, const StudyRules& rules,
                   Resolved& r) {
  if (which[kModels]) resolve_models(cfg, loc, r);
  if (which[kScalars]) resolve_scalars(cfg, loc, r);   // first: data_root places the data sets
  if (which[kDatasets]) resolve_datasets(cfg, loc, r);
  if (which[kMethods]) resolve_methods(cfg, loc, r);
  if (which[kEvaluators]) resolve_evaluators(cfg, loc, rules, r);
  if (which[kTags]) resolve_tags(cfg, loc, r);
}

// A run's name: its config and what its inputs hold (inputs_identity).
std::string run_hash(const std::string& config_yaml, const std::string& identity) {
  return sha256_hex(config_yaml + identity).substr(0, 16);
}

// The files a run reads (its checkpoints, every path parameter of its data
// sets), fingerprinted once per study, and the run's hash over its config and
// their contents.
class RunInputs {
 public:
  void attach(RunSpec& run, const Resolved& r) {
    for (const auto& [role, path] : r.model_paths) add(run, role, path);
    const Registry& reg = Registry::instance();
    for (const auto& [name, step] : r.steps.datasets)
      for (const auto& s : reg.dataset(step.plugin).params)
        if (s.is_path && step.params.has(s.name))
          add(run, "datasets." + name + (s.name == "path" ? "" : "." + s.name), step.params.get_string(s.name));
    run.hash = run_hash(run.config_yaml, inputs_identity(run.inputs));
  }

 private:
  void add(RunSpec& run, const std::string& role, const std::string& path) {
    auto key = role + "\n" + path;
    auto it = seen_.find(key);
    if (it == seen_.end()) it = seen_.emplace(key, fingerprint_input(role, path, FingerprintCache::shared())).first;
    run.inputs.insert(run.inputs.end(), it->second.begin(), it->second.end());
  }
  std::map<std::string, std::vector<InputFile>> seen_;
};

// The run of a resolved config: its canonical text and hash.
RunSpec make_run(const Resolved& r, RunInputs& inputs) {
  RunSpec run;
  run.config_yaml = canonical_map(r.entries);
  run.seed = r.seed;
  inputs.attach(run, r);
  std::string summary;
  for (const auto& s : r.steps.methods) summary += (summary.empty() ? "" : "+") + s.plugin;
  run.axes["method"] = summary.empty() ? "none" : summary;
  return run;
}

// A run count for messages: exact up to 10^15, else in scientific notation.
std::string format_count(double n) {
  if (n < 1e15) return std::to_string(static_cast<uint64_t>(n));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", n);
  return buf;
}

// The output file, absolute; its folder must exist and be writable or be creatable.
std::string resolve_output(const std::string& output, const YAML::Node& where, const Locator& loc) {
  fs::path p = fs::absolute(output);
  std::error_code ec;
  if (fs::is_directory(p, ec)) throw loc.error(where, "output '" + output + "' is a folder; name the .h5 file");
  fs::path dir = p.parent_path();
  while (!fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  if (!fs::is_directory(dir, ec))
    throw loc.error(where, "output '" + output + "' cannot be created: '" + dir.string() + "' is not a folder");
  if (access(dir.c_str(), W_OK) != 0)
    throw loc.error(where, "output '" + output + "' cannot be created: folder '" + dir.string() + "' is not writable");
  return p.string();
}

}  // namespace

// The runs of a sweep, resolved: the first run's every part of the config, a
// later run's only the parts its axes reach, over the first run's (which it
// shares, text and validated steps). Kept by every run of the study, so that
// a run's steps are resolved again when it executes (RunSpec::steps) instead
// of being kept: a 10^5-run sweep would keep 10^5 yaml-cpp trees.
class SweepRuns {
 public:
  SweepRuns(Locator loc, YAML::Node base, std::vector<Group> groups, const StudyRules& rules)
      : loc_(std::move(loc)), base_(std::move(base)), groups_(std::move(groups)), rules_(rules),
        swept_(kPartCount, false) {
    for (const Group& g : groups_) {
      origins_.emplace_back();
      for (const Axis& a : g) {
        for (Part p : parts_reached(a.parts[0])) swept_[p] = true;
        origins_.back().push_back(loc_.where(a.key));
      }
    }
    for (int p = 0; p < kPartCount; ++p)
      if (swept_[p]) swept_keys_.insert(kPartKeys[p].begin(), kPartKeys[p].end());
    first_ = resolve(std::vector<size_t>(groups_.size(), 0), nullptr);
  }

  const std::vector<Group>& groups() const { return groups_; }
  const Resolved& first() const { return first_; }

  // A later run (pick: the index of each group's value).
  Resolved resolve(const std::vector<size_t>& pick) const { return resolve(pick, &first_); }

  RunSteps steps(size_t index) const {
    if (index == 0) return first_.steps;
    std::vector<size_t> pick(groups_.size());
    for (size_t g = groups_.size(); g-- > 0; index /= groups_[g][0].values.size())
      pick[g] = index % groups_[g][0].values.size();
    return resolve(pick).steps;
  }

 private:
  // From `over` (a later run) or from nothing (the first), the config's
  // parts resolved again from copies of the base; a run that fails is
  // resolved again, whole, from the parsed nodes, so that the error points
  // into the file.
  Resolved resolve(const std::vector<size_t>& pick, const Resolved* over) const {
    const std::vector<bool> every(kPartCount, true);
    Resolved r = over ? *over : Resolved{};
    try {
      Locator copies(loc_.file());   // notes on this run's copies go with them
      resolve_parts(config(pick, false, over != nullptr, copies), over ? swept_ : every, copies, rules_, r);
    } catch (const UsageError&) {
      Locator located = loc_;
      r = Resolved{};
      resolve_parts(config(pick, true, false, located), every, located, rules_, r);
    }
    return r;
  }

  // A run's config: the base with each axis at its value. yaml-cpp keeps the
  // nodes in pools, and combining two nodes (assigning, inserting) merges
  // their pools by copying one's set of nodes into the other's, for good. Runs
  // built from the parsed study's nodes would all join its pool: each run would
  // copy every earlier run's nodes (quadratic time, every node kept). So a run
  // is built from deep copies (a pool of its own, freed with it): of the whole
  // base, or of the swept top-level keys only (`only_swept`). Copies have no
  // file positions; `located` builds it from the parsed nodes instead.
  YAML::Node config(const std::vector<size_t>& pick, bool located, bool only_swept, Locator& run_loc) const {
    std::optional<YAML::Node> cfg(base_);
    if (!located) {
      YAML::Node copy(YAML::NodeType::Map);
      for (const auto& kv : base_)
        if (!only_swept || swept_keys_.count(kv.first.Scalar()))
          copy.force_insert(kv.first.Scalar(), YAML::Clone(kv.second));
      cfg.emplace(copy);
    }
    for (size_t g = 0; g < groups_.size(); ++g)
      for (size_t i = 0; i < groups_[g].size(); ++i) {
        const Axis& a = groups_[g][i];
        const YAML::Node& v = a.values[pick[g]];
        cfg.emplace(with_value(*cfg, a.parts, 0, located ? v : YAML::Clone(v), run_loc, origins_[g][i],
                               [&](const std::string& m) { return loc_.error(a.key, "sweep axis '" + a.path + "': " + m); }));
      }
    return *cfg;
  }

  Locator loc_;
  YAML::Node base_;                      // the study without its sweep
  std::vector<Group> groups_;
  StudyRules rules_;
  std::vector<bool> swept_;              // the parts a later run resolves
  std::set<std::string> swept_keys_;     // the top-level keys a later run copies: every key of a swept part
  std::vector<std::vector<std::string>> origins_;   // per group and axis: where it is written, for notes
  Resolved first_;
};

RunSteps RunSpec::steps() const { return sweep ? sweep->steps(index) : RunSteps{}; }

namespace {

// A later run's config text when every axis of the sweep is a slot: one
// scalar that the resolvers check against its parameter's spec alone (a
// method's or evaluator's parameter, or the seed). Each swept entry is then
// the first run's with the values' texts put in (EntryTemplate), and the
// rest is the first run's: nothing is resolved or emitted again, which was
// most of the time of a large sweep.
class SlotTexts {
 public:
  // Empty when some axis is not a slot, or an entry cannot be templated.
  static std::optional<SlotTexts> make(const SweepRuns& sweep, const Locator& loc) {
    SlotTexts t(loc);
    std::map<std::string, std::vector<std::vector<std::string>>> paths;   // top-level key -> its slots' paths
    std::map<std::string, std::vector<size_t>> slots_of;                  // top-level key -> its slots
    for (size_t g = 0; g < sweep.groups().size(); ++g)
      for (const Axis& a : sweep.groups()[g]) {
        std::optional<Slot> slot = slot_of(a);
        if (!slot) return std::nullopt;
        slot->group = g;
        slot->texts.resize(a.values.size());
        slots_of[a.parts[0]].push_back(t.slots_.size());
        paths[a.parts[0]].emplace_back(a.parts.begin() + 1, a.parts.end());
        t.slots_.push_back(std::move(*slot));
      }
    for (const auto& [key, entry] : sweep.first().entries) {
      auto it = paths.find(key);
      if (it == paths.end()) continue;
      std::optional<EntryTemplate> e = EntryTemplate::make(key, entry, it->second);
      if (!e) return std::nullopt;
      t.templates_.emplace(key, Filled{std::move(*e), slots_of[key]});
    }
    if (t.templates_.size() != paths.size()) return std::nullopt;   // a key the first run has no entry for
    return t;
  }

  // The config text of the run at `pick` and its seed (the first run's
  // unless swept); false when a value fails its check (the caller resolves
  // the run in full, which reports it).
  bool text(const Resolved& first, const std::vector<size_t>& pick, std::string& config, uint64_t& seed) {
    seed = first.seed;
    for (Slot& s : slots_) {
      std::optional<std::string>& text = s.texts[pick[s.group]];
      if (!text) {
        try {
          text = canonical_scalar(validate_value((*s.values)[pick[s.group]], s.spec, s.what, loc_));
        } catch (const UsageError&) {
          return false;
        }
      }
      if (s.is_seed) seed = std::stoull(*text);   // a validated int's text
    }
    config.clear();
    std::vector<const std::string*> texts;
    for (const auto& [key, entry] : first.entries) {
      auto t = templates_.find(key);
      if (t == templates_.end()) {
        config += entry;
      } else {
        texts.clear();
        for (size_t i : t->second.slots) texts.push_back(&*slots_[i].texts[pick[slots_[i].group]]);
        config += t->second.entry.fill(texts);
      }
      config += "\n";   // canonical_map's join
    }
    return true;
  }

 private:
  explicit SlotTexts(Locator loc) : loc_(std::move(loc)) {}

  struct Slot {
    size_t group = 0;
    bool is_seed = false;                            // the run's seed, not a step's parameter
    const std::vector<YAML::Node>* values = nullptr;
    ParamSpec spec;
    std::string what;                                // the owner, as validation names it
    std::vector<std::optional<std::string>> texts;   // per value: its canonical text, made on first use
  };
  struct Filled {
    EntryTemplate entry;
    std::vector<size_t> slots;   // the slot of each hole
  };

  // Keys the resolvers check beyond their spec (with_preset, resolve_steps,
  // resolve_evaluators above): an axis on one is no slot.
  static bool checked_beyond_spec(const std::string& key) {
    return key == "preset" || key == "dataset" || key == "label";
  }

  static std::optional<Slot> slot_of(const Axis& a) {
    Slot s;
    s.values = &a.values;
    const std::vector<ParamSpec>* specs = nullptr;
    std::string name;
    if (a.parts.size() == 1 && a.parts[0] == "seed") {
      static const std::vector<ParamSpec> run = run_schema();
      specs = &run, name = "seed", s.what = "study", s.is_seed = true;
    } else if (a.parts.size() == 4 && (a.parts[0] == "method" || a.parts[0] == "evaluators") &&
               !checked_beyond_spec(a.parts[3])) {
      const Registry& reg = Registry::instance();
      const std::string& plugin = a.parts[2];
      bool method = a.parts[0] == "method";
      if (method ? !reg.methods().count(plugin) : !reg.evaluators().count(plugin)) return std::nullopt;
      specs = method ? &reg.method(plugin).params : &reg.evaluator(plugin).params;
      name = a.parts[3], s.what = (method ? "method '" : "evaluator '") + plugin + "'";
    } else {
      return std::nullopt;
    }
    auto it = std::find_if(specs->begin(), specs->end(), [&](const ParamSpec& p) { return p.name == name; });
    if (it == specs->end()) return std::nullopt;
    if (it->type == ParamType::IntList || it->type == ParamType::FloatList || it->type == ParamType::StringList)
      return std::nullopt;
    s.spec = *it;
    return s;
  }

  Locator loc_;   // for validate_value; a value that fails is resolved again, located
  std::vector<Slot> slots_;
  std::map<std::string, Filled> templates_;   // by top-level key
};

Study expand_study(const YAML::Node& parsed, const std::string& path, const std::string& default_name,
                   const std::vector<std::string>& overrides, const StudyRules& rules) {
  Locator loc(path);
  if (!parsed.IsMap()) throw loc.error(parsed, "a study is a YAML map with keys like name, model, method, evaluators");
  // yaml-cpp's Node::operator= writes through to the node it refers to; a
  // study is rebuilt (never mutated) by rebinding an optional instead.
  std::optional<YAML::Node> overridden(parsed);
  for (const auto& o : overrides) overridden.emplace(apply_override(*overridden, o, loc));
  const YAML::Node root = *overridden;

  std::set<std::string> seen;
  for (const auto& kv : root) {
    std::string k = kv.first.Scalar();
    if (!seen.insert(k).second) throw loc.error(kv.first, "top-level key '" + k + "' given twice");
    if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), k) == kTopLevelKeys.end())
      throw loc.error(kv.first, "unknown top-level key '" + k + "'" + did_you_mean(k, kTopLevelKeys));
  }

  Study study;
  study.file = path;
  for (const char* k : {"name", "output"}) {
    YAML::Node v = child(root, k);
    if (v.IsDefined() && (!v.IsScalar() || v.Scalar().empty()))
      throw loc.error(v, std::string("'") + k + "' must be a non-empty string");
  }
  study.name = child(root, "name").IsDefined() ? child(root, "name").Scalar() : default_name;
  YAML::Node output = child(root, "output");
  study.output = resolve_output(output.IsDefined() ? output.Scalar() : "results/" + study.name + ".h5",
                                output.IsDefined() ? output : root, loc);

  std::vector<Group> groups = parse_sweep(child(root, "sweep"), loc);
  // The size first: a mistyped axis can ask for millions of runs.
  double size = 1;
  for (const Group& g : groups) size *= double(g[0].values.size());
  if (rules.max_runs > 0 && size > double(rules.max_runs))
    throw loc.error(key_of(root, "sweep"), "sweep: " + format_count(size) + " runs, more than the bound of " +
                                               std::to_string(rules.max_runs) + " (qlab run --max-runs N raises it)");
  YAML::Node base(YAML::NodeType::Map);
  for (const auto& kv : root)
    if (kv.first.Scalar() != "sweep") base.force_insert(kv.first, kv.second);

  auto sweep = std::make_shared<const SweepRuns>(loc, base, std::move(groups), rules);
  std::optional<SlotTexts> slots = SlotTexts::make(*sweep, loc);
  RunInputs inputs;
  std::map<std::string, size_t> hashes;
  const std::string results_dir = fs::path(study.output).parent_path().string();
  const std::string cache_dir = (fs::path(results_dir) / "transforms").string();
  if (size <= 1e7) study.runs.reserve(size_t(size));
  // Every combination: one value index per group, the last group varying fastest.
  std::vector<size_t> pick(sweep->groups().size(), 0);
  std::string first_identity;   // the first run's inputs as hashed: a run made from slots reads the same files
  while (true) {
    RunSpec run;
    if (study.runs.empty()) {
      run = make_run(sweep->first(), inputs);
      first_identity = inputs_identity(run.inputs);
    } else if (slots && slots->text(sweep->first(), pick, run.config_yaml, run.seed)) {
      const RunSpec& first = study.runs.front();
      run.inputs = first.inputs;
      run.hash = run_hash(run.config_yaml, first_identity);
      run.axes["method"] = first.axes.at("method");
    } else {
      run = make_run(sweep->resolve(pick), inputs);
    }
    run.sweep = sweep;
    run.index = study.runs.size();
    run.cache_dir = cache_dir;
    run.results_dir = results_dir;
    for (size_t g = 0; g < pick.size(); ++g)
      for (const Axis& a : sweep->groups()[g])
        if (a.path != "method") run.axes[a.path] = flow_text(a.values[pick[g]]);   // "method": the steps' names
    auto [it, fresh] = hashes.emplace(run.hash, study.runs.size());
    if (!fresh)
      throw loc.error(key_of(root, "sweep"), "sweep: runs " + std::to_string(it->second) + " and " +
                                                 std::to_string(study.runs.size()) +
                                                 " resolve to the same config (a value repeated in an axis?)");
    study.runs.push_back(std::move(run));
    size_t g = pick.size();
    while (g > 0 && ++pick[g - 1] == sweep->groups()[g - 1][0].values.size()) pick[--g] = 0;
    if (g == 0) break;
  }
  return study;
}

}  // namespace

Study load_study(const std::string& path, const std::vector<std::string>& overrides, const StudyRules& rules) {
  return expand_study(load_yaml_file(path), path, fs::path(path).stem().string(), overrides, rules);
}

Study load_study_text(const std::string& text, const std::string& origin, const std::vector<std::string>& overrides,
                      const StudyRules& rules) {
  YAML::Node parsed;
  try {
    parsed = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw UsageError(origin + ": malformed YAML: " + e.msg);
  }
  return expand_study(parsed, origin, origin, overrides, rules);
}

}  // namespace qlab
