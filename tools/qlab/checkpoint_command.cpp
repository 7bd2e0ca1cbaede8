#include "tools/qlab/checkpoint_command.h"

#include <iostream>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/quant/saved_quant.h"

namespace po = boost::program_options;

namespace qlab::cli {

void add_checkpoint_options(po::options_description& opts) {
  opts.add_options()("dir", po::value<std::string>(), "Hugging Face checkpoint directory (positional)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or cuda:N")(
      "dtype", po::value<std::string>()->default_value("float32"), "float32, bfloat16 or float16");
}

bool parse_command_line(const std::vector<std::string>& args, const po::options_description& opts,
                        const std::string& command, const std::vector<std::string>& required, po::variables_map& vm) {
  const std::string help = " (qlab " + command + " --help)";
  po::positional_options_description positional;
  positional.add("dir", 1);
  try {
    po::store(po::command_line_parser(args).options(opts).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string("command line: ") + e.what() + help);
  }
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return false;
  }
  for (const std::string& r : required)
    if (!vm.count(r)) throw UsageError("command line: missing " + (r == "dir" ? std::string("DIR") : "--" + r) + help);
  return true;
}

OpenCheckpoint open_checkpoint(const po::variables_map& vm) {
  const std::string dir = vm["dir"].as<std::string>();
  auto device = parse_device(vm["device"].as<std::string>());
  auto dtype = parse_dtype(vm["dtype"].as<std::string>());
  auto tokenizer = Tokenizer::load(dir);
  Model model = Model::load(dir, device, dtype);
  attach_saved_quantization(model, dir);
  return {dir, std::move(tokenizer), std::move(model)};
}

void check_ids_fit(const OpenCheckpoint& c, const std::vector<int64_t>& ids) {
  for (int64_t id : ids)
    if (id < 0 || id >= c.model.config.vocab_size)
      throw UsageError(c.dir + ": the tokenizer produced id " + std::to_string(id) +
                       " outside the model's vocabulary of " + std::to_string(c.model.config.vocab_size));
}

}  // namespace qlab::cli
