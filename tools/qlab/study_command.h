// What the subcommands that take a study (run, status, slurm) read alike:
// STUDY [key=value ...] as positionals, --plugin (repeatable) and --max-runs
// after the command's own options, --help with the command's closing text,
// and one-line errors that point at `qlab <command> --help`.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "core/study.h"

namespace qlab::cli {

struct StudyCommandLine {
  std::string study;                    // the study file
  std::vector<std::string> overrides;   // its key=value overrides
  std::vector<std::string> plugins;     // --plugin
  StudyRules rules;                     // --max-runs
  boost::program_options::variables_map vm;

  // Adds --plugin (described as plugin_help) and --max-runs to `visible`, then
  // parses args with `hidden` options too. Returns false after printing the
  // help when --help was given; throws UsageError on a bad command line or a
  // missing study file.
  bool parse(const std::string& command, boost::program_options::options_description& visible,
             const std::vector<std::string>& args, const char* help_tail,
             const boost::program_options::options_description& hidden = {},
             const std::string& plugin_help = "load an external plugin (.so); repeatable");
  // Loads the plugins, then the study with its overrides.
  Study load() const;
};

}  // namespace qlab::cli
