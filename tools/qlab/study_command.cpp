#include "tools/qlab/study_command.h"

#include <iostream>

#include "core/error.h"
#include "core/plugin_loader.h"

namespace po = boost::program_options;

namespace qlab::cli {

bool StudyCommandLine::parse(const std::string& command, po::options_description& visible,
                             const std::vector<std::string>& args, const char* help_tail,
                             const po::options_description& hidden, const std::string& plugin_help) {
  visible.add_options()
      ("plugin", po::value(&plugins)->composing(), plugin_help.c_str())
      ("max-runs", po::value(&rules.max_runs)->default_value(rules.max_runs), "refuse a sweep of more runs (0: no bound)");
  std::vector<std::string> positional_args;
  po::options_description all;
  all.add(visible).add(hidden).add_options()("args", po::value(&positional_args));
  po::positional_options_description positional;
  positional.add("args", -1);
  const std::string help = " (qlab " + command + " --help)";
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + help);
  }
  if (vm.count("help")) {
    std::cout << visible << help_tail;
    return false;
  }
  if (positional_args.empty()) throw UsageError("missing the study file" + help);
  study = positional_args[0];
  overrides.assign(positional_args.begin() + 1, positional_args.end());
  return true;
}

Study StudyCommandLine::load() const {
  load_plugins(plugins);
  return load_study(study, overrides, rules);
}

}  // namespace qlab::cli
