// `qlab status STUDY [key=value ...]`: each run of the study done, failed (with
// its error), running (a live lock) or missing, across all its results files,
// with counts and the compute time so far (core/study_status.h).
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/plugin_loader.h"
#include "core/study.h"
#include "core/study_status.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;

namespace qlab::cli {
namespace {

const char* const kHelpTail = R"(
STUDY and its key=value overrides as given to `qlab run` (the overrides
change run hashes). Reads the study's output, its shard files
(<stem>.shard<i>of<n>.h5) and worker files (<stem>.w<i>.h5) as one; runs
nothing and writes nothing. Exit 0 however the runs stand.
)";

int status_main(const std::vector<std::string>& args) {
  std::vector<std::string> positional_args, plugins;
  std::string format = "md";
  StudyRules rules;
  po::options_description visible("usage: qlab status STUDY [key=value ...] [options]");
  visible.add_options()
      ("help,h", "show this help")
      ("format", po::value(&format), "md, csv or json (default md)")
      ("plugin", po::value(&plugins)->composing(), "load an external plugin (.so); repeatable")
      ("max-runs", po::value(&rules.max_runs)->default_value(rules.max_runs), "refuse a sweep of more runs (0: no bound)");
  po::options_description all;
  all.add(visible).add_options()("args", po::value(&positional_args));
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (qlab status --help)");
  }
  if (vm.count("help")) {
    std::cout << visible << kHelpTail;
    return kExitOk;
  }
  if (positional_args.empty()) throw UsageError("missing the study file (qlab status --help)");
  StatusFormat status_format = parse_status_format(format);
  load_plugins(plugins);
  Study study = load_study(positional_args[0], {positional_args.begin() + 1, positional_args.end()}, rules);
  std::cout << format_status(study_status(study), status_format);
  return kExitOk;
}

}  // namespace

QLAB_COMMAND(status, "status", "where each run of a study stands: done, failed, running, missing", status_main);

}  // namespace qlab::cli
