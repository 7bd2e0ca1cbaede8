// `qlab quantize MODEL --method quarot,gptq [--set gptq.w_bits=3 ...] --out DIR`:
// applies a method pipeline once and writes the result as a Hugging Face
// checkpoint (rotated, fake-quantized weights in the model's dtype) plus
// qlab_quant.json with the online transforms and activation / KV quantizers,
// which qlab re-attaches when it loads DIR.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/engine/execute.h"
#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/plugin_loader.h"
#include "core/quant/saved_quant.h"
#include "core/registry.h"
#include "core/study.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace qlab {
namespace {


// The pipeline as a one-run study, so that parameters are validated exactly as
// in `qlab run` (schemas, defaults, did-you-mean); built in memory.
std::string study_text(const std::string& model, const std::string& dtype, const std::string& device,
                       const std::vector<std::string>& methods, const std::string& calibration, uint64_t seed) {
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << "quantize";
  y << YAML::Key << "seed" << YAML::Value << seed;
  y << YAML::Key << "model" << YAML::Value << YAML::BeginMap << YAML::Key << "path" << YAML::Value << model
    << YAML::Key << "dtype" << YAML::Value << dtype << YAML::Key << "device" << YAML::Value << device << YAML::EndMap;
  if (!calibration.empty())
    y << YAML::Key << "datasets" << YAML::Value << YAML::BeginMap << YAML::Key << "calibration" << YAML::Value
      << YAML::BeginMap << YAML::Key << "text" << YAML::Value << YAML::BeginMap << YAML::Key << "path" << YAML::Value
      << calibration << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  y << YAML::Key << "method" << YAML::Value << YAML::BeginSeq;
  for (const auto& m : methods) {
    y << YAML::BeginMap << YAML::Key << m << YAML::Value << YAML::BeginMap;
    bool wants_data = false;
    for (const auto& p : Registry::instance().method(m).params) wants_data |= p.name == "dataset";
    if (wants_data && !calibration.empty()) y << YAML::Key << "dataset" << YAML::Value << "calibration";
    y << YAML::EndMap << YAML::EndMap;
  }
  y << YAML::EndSeq << YAML::EndMap;
  return y.c_str();
}

int quantize_main(const std::vector<std::string>& args) {
  std::string model, methods, out, calibration, dtype = "float32", device = "cpu";
  bool force = false;
  std::vector<std::string> sets, plugins;
  uint64_t seed = 0;
  po::options_description visible("usage: qlab quantize MODEL --method a,b --out DIR [options]");
  visible.add_options()("help,h", "show this help")("method", po::value(&methods), "comma-separated method steps, e.g. quarot,gptq")(
      "out", po::value(&out), "output checkpoint folder")(
      "set", po::value(&sets)->composing(), "a step parameter, e.g. gptq.w_bits=3; repeatable")(
      "calibration", po::value(&calibration), "text file for calibration (methods with a `dataset` parameter)")(
      "dtype", po::value(&dtype), "float32 | bfloat16 | float16")("device", po::value(&device), "cpu | cuda | cuda:N")(
      "seed", po::value(&seed), "seed (random rotations, calibration windows)")(
      "plugin", po::value(&plugins)->composing(), "load an external plugin (.so); repeatable")(
      "force", po::bool_switch(&force), "replace an existing --out folder");
  po::options_description all;
  all.add(visible).add_options()("model", po::value(&model));
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (qlab quantize --help)");
  }
  if (vm.count("help")) {
    std::cout << visible;
    return kExitOk;
  }
  if (model.empty() || methods.empty() || out.empty()) throw UsageError("MODEL, --method and --out are required (qlab quantize --help)");
  load_plugins(plugins);
  std::vector<std::string> steps = cli::comma_list(methods);
  if (steps.empty()) throw UsageError("--method names no step");
  for (const auto& s : steps)   // an unknown name gets its did-you-mean; calibration is asked for by option
    for (const auto& p : Registry::instance().method(s).params)
      if (p.name == "dataset" && p.required && calibration.empty())
        throw UsageError("--method " + s + " calibrates on text: give --calibration FILE (qlab quantize --help)");
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(out, model, ec))
    throw UsageError("--out " + out + " is the input model's folder; write the quantized checkpoint elsewhere");
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)) && !force)
    throw UsageError("--out " + out + " already exists; add --force to replace what it holds");

  std::vector<std::string> overrides;
  for (const auto& s : sets) {
    auto dot = s.find('.');
    auto it = dot == std::string::npos ? steps.end() : std::find(steps.begin(), steps.end(), s.substr(0, dot));
    if (it == steps.end()) throw UsageError("--set " + s + ": expected STEP.KEY=VALUE with STEP one of --method's steps");
    overrides.push_back("method." + std::to_string(it - steps.begin()) + "." + s);
  }
  StudyRules rules;
  rules.needs_evaluators = false;   // nothing is evaluated: the checkpoint is the result
  Study study = load_study_text(study_text(model, dtype, device, steps, calibration, seed), "qlab quantize", overrides, rules);
  const RunSpec& run = study.runs.at(0);
  fs::create_directories(out);

  Workspace ws(run);
  RunOutput record;   // what the steps record (training curves) is not kept here
  apply_methods(ws, record);
  Model& m = ws.model();
  // Rotations untie lm_head from the embedding; the checkpoint must say so.
  m.config.tie_word_embeddings = m.lm_head.weight.is_same(m.embed.weight);
  save_checkpoint(out, m.config, m.checkpoint_tensors(), model);
  save_quantization(out, m, ws.online(), ws.quant_record());
  spdlog::info("wrote {} ({}; {} steps recorded in {})", out, methods, ws.quant_record().size(), kQuantDescriptionFile);
  return kExitOk;
}

}  // namespace
}  // namespace qlab

QLAB_COMMAND(quantize, "quantize", "apply a method pipeline once and write a quantized Hugging Face checkpoint",
             qlab::quantize_main);
