// qlab make-corpus: writes the testbed's synthetic corpus (docs/testbed.md)
// into a folder: pre-training text, chat sets for the base and the aligned
// model, held-out evaluation sets, and a manifest with their sha256.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "datasets/synthetic/testbed.h"
#include "tools/qlab/command.h"
#include "tools/qlab/options.h"

namespace po = boost::program_options;

namespace {

// Read as text: program_options would take "-1" for an unsigned as 2^64 - 1.
uint64_t parse_seed(const std::string& text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    throw qlab::UsageError("command line: --seed '" + text + "' is not a non-negative integer below 10^19");
  return std::stoull(text);
}

int run_make_corpus(const std::vector<std::string>& args) {
  po::options_description opts("qlab make-corpus --out DIR [--seed N] [--size small|default]");
  opts.add_options()
      ("help,h", "show this help")
      ("out", po::value<std::string>(), "output folder (created; files in it are replaced)")
      ("seed", po::value<std::string>()->default_value("1"), "the world and every draw follow from it")
      ("size", po::value<std::string>()->default_value("default"), "default (~3 MB pre-training text) or small");
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "make-corpus", vm)) return qlab::kExitOk;
  if (!vm.count("out")) throw qlab::UsageError("command line: needs --out DIR (qlab make-corpus --help)");
  qlab::synthetic::CorpusOptions o = qlab::synthetic::corpus_preset(vm["size"].as<std::string>());
  o.seed = parse_seed(vm["seed"].as<std::string>());
  std::string out = vm["out"].as<std::string>();
  for (const auto& f : qlab::synthetic::write_testbed_corpus(o, out))
    std::cout << out << "/" << f.name << ": " << f.records << " records, " << f.bytes << " bytes, sha256 " << f.sha256
              << "\n";
  return qlab::kExitOk;
}

}  // namespace

QLAB_COMMAND(make_corpus, "make-corpus", "write the synthetic testbed corpus (docs/testbed.md) into a folder",
             run_make_corpus);
