// What the subcommands' option parsing shares: Boost.Program_options errors as
// one-line UsageErrors naming the command's --help, and --help itself.
#pragma once
#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace qlab::cli {

// Parses args into vm (with `positional` where given); false after printing
// the options for --help. A malformed command line is a UsageError
// "command line: ... (qlab COMMAND --help)".
bool parse_command_line(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                        const std::string& command, boost::program_options::variables_map& vm,
                        const boost::program_options::positional_options_description* positional = nullptr);

}  // namespace qlab::cli
