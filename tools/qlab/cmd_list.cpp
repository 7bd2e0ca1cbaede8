// `qlab list [methods|evaluators|datasets]`: every plugin with its description
// and parameters (type, default, range or choices, doc), built-in and loaded.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/plugin_loader.h"
#include "core/registry.h"
#include "core/suggest.h"
#include "core/validate.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;

namespace qlab::cli {

namespace {

void print_params(const std::vector<ParamSpec>& params) {
  for (const auto& p : params) {
    std::string facts = to_string(p.type);
    if (p.required) facts += ", required";
    else if (!p.default_value.empty()) facts += ", default " + p.default_value;
    else facts += ", optional";
    std::string constraint = constraint_text(p);
    if (!constraint.empty()) facts += ", " + constraint;
    std::cout << "    " << p.name << " (" << facts << ")" << (p.doc.empty() ? "" : ": " + p.doc) << "\n";
  }
}

template <class Info>
void print_kind(const std::string& title, const std::map<std::string, Info>& all) {
  std::cout << title << ":\n";
  if (all.empty()) std::cout << "  (none)\n";
  for (const auto& [name, info] : all) {
    std::cout << "  " << name << (info.description.empty() ? "" : ": " + info.description) << "\n";
    print_params(info.params);
  }
}

int list_main(const std::vector<std::string>& args) {
  std::vector<std::string> plugins;
  std::string kind;
  po::options_description visible("usage: qlab list [methods|evaluators|datasets] [options]");
  visible.add_options()("help,h", "show this help")(
      "plugin", po::value(&plugins)->composing(), "load an external plugin (.so); repeatable");
  po::options_description all;
  all.add(visible).add_options()("kind", po::value(&kind));
  po::positional_options_description positional;
  positional.add("kind", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (qlab list --help)");
  }
  if (vm.count("help")) {
    std::cout << visible << "\nPlugins are also loaded from QLAB_PLUGIN_PATH (colon-separated .so files or folders).\n";
    return kExitOk;
  }
  const std::vector<std::string> kinds = {"methods", "evaluators", "datasets"};
  if (!kind.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
    throw UsageError("unknown list '" + kind + "'" + did_you_mean(kind, kinds));
  load_plugins(plugins);
  const Registry& reg = Registry::instance();
  if (kind.empty() || kind == "methods") print_kind("methods", reg.methods());
  if (kind.empty() || kind == "evaluators") print_kind("evaluators", reg.evaluators());
  if (kind.empty() || kind == "datasets") print_kind("datasets", reg.datasets());
  return kExitOk;
}

}  // namespace

QLAB_COMMAND(list, "list", "plugins (methods, evaluators, datasets) and their parameters", list_main);

}  // namespace qlab::cli
