#include "tools/qlab/options.h"

#include <iostream>

#include "core/error.h"

namespace po = boost::program_options;

namespace qlab::cli {

bool parse_command_line(const std::vector<std::string>& args, const po::options_description& opts,
                        const std::string& command, po::variables_map& vm,
                        const po::positional_options_description* positional) {
  try {
    po::command_line_parser parser(args);
    parser.options(opts);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string("command line: ") + e.what() + " (qlab " + command + " --help)");
  }
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return false;
  }
  return true;
}

}  // namespace qlab::cli
