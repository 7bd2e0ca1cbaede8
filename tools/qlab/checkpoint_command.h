// What the commands that open one checkpoint share (`qlab inspect`, `score`,
// `generate`): the checkpoint folder as the positional DIR, command-line
// errors in one form; for score and generate also --device and --dtype, and
// loading the model with any saved quantization (qlab_quant.json) attached, so
// a `qlab quantize` output scores as the quantized model it is.
#pragma once
#include <boost/program_options.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/model/model.h"
#include "core/model/tokenizer.h"

namespace qlab::cli {

// Adds DIR, --device and --dtype to opts.
void add_checkpoint_options(boost::program_options::options_description& opts);
// Parses args (DIR positional); prints opts and returns false for --help.
// Throws UsageError "command line: ... (qlab COMMAND --help)", also when one of
// `required` (option names, "dir" for DIR) is missing.
bool parse_command_line(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                        const std::string& command, const std::vector<std::string>& required,
                        boost::program_options::variables_map& vm);

struct OpenCheckpoint {
  std::string dir;
  std::unique_ptr<Tokenizer> tokenizer;
  Model model;
};
OpenCheckpoint open_checkpoint(const boost::program_options::variables_map& vm);
// UsageError naming the checkpoint when an id falls outside the model's vocabulary.
void check_ids_fit(const OpenCheckpoint& c, const std::vector<int64_t>& ids);

}  // namespace qlab::cli
