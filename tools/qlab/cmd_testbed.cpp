// qlab testbed: builds (or finds up to date) the generated corpus, tokenizer,
// base and aligned models the default study runs on (core/learn/testbed.h).
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/learn/testbed.h"
#include "tools/qlab/command.h"
#include "tools/qlab/options.h"

namespace po = boost::program_options;

static int run_testbed(const std::vector<std::string>& args) {
  std::string sizes;
  for (const auto& s : qlab::testbed_sizes()) sizes += (sizes.empty() ? "" : "|") + s;
  po::options_description opts("qlab testbed [--out DIR] [--size " + sizes + "] [--seed N] [--device cpu|cuda]");
  qlab::TestbedOptions o;
  opts.add_options()
      ("help,h", "show this help")
      ("out", po::value(&o.out_dir)->default_value(o.out_dir), "folder of corpus/, tokenizer/, base/, aligned/")
      ("size", po::value(&o.size)->default_value(o.size), "small (tests) | refusal (tests: the cheapest that learns to refuse, ~1-2 min) | default (2-core CPU, ~3 min) | gpu (~30M parameters)")
      ("seed", po::value(&o.seed)->default_value(o.seed), "corpus, initialisation and data order")
      ("device", po::value(&o.device)->default_value(o.device), "where the models train: cpu, cuda, cuda:N");
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "testbed", vm)) return qlab::kExitOk;
  qlab::Testbed t = qlab::build_testbed(o);
  std::cout << "corpus    " << t.corpus << "\ntokenizer " << t.tokenizer << "\nbase      " << t.base << "\naligned   "
            << t.aligned << "\n";
  return qlab::kExitOk;
}

QLAB_COMMAND(testbed, "testbed", "build the self-contained base/aligned model pair the default study runs on", run_testbed);
