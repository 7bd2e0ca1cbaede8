// qlab convert: other checkpoint formats -> a Hugging Face checkpoint directory.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/model/llama2c.h"
#include "tools/qlab/command.h"
#include "tools/qlab/options.h"

namespace po = boost::program_options;

static int run_convert(const std::vector<std::string>& args) {
  po::options_description opts("qlab convert --from llama2c FILE [--tokenizer tok.model] --out DIR");
  opts.add_options()
      ("help,h", "show this help")
      ("from", po::value<std::string>(), "source format: llama2c")
      ("input", po::value<std::string>(), "the checkpoint file to convert (positional)")
      ("tokenizer", po::value<std::string>()->default_value(""), "SentencePiece tokenizer.model to ship with it")
      ("out", po::value<std::string>(), "output directory (created)");
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "convert", vm, &positional)) return qlab::kExitOk;
  if (!vm.count("from") || !vm.count("input") || !vm.count("out"))
    throw qlab::UsageError("command line: needs --from FORMAT FILE --out DIR (qlab convert --help)");
  std::string from = vm["from"].as<std::string>();
  if (from != "llama2c") throw qlab::UsageError("command line: --from '" + from + "' is not supported (supported: llama2c)");
  std::string out = vm["out"].as<std::string>();
  qlab::convert_llama2c(vm["input"].as<std::string>(), vm["tokenizer"].as<std::string>(), out);
  std::cout << "wrote " << out << "\n";
  return qlab::kExitOk;
}

QLAB_COMMAND(convert, "convert", "convert a llama2.c checkpoint to a Hugging Face checkpoint directory", run_convert);
