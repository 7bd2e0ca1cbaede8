// qlab score: the log-probability a checkpoint gives a text, a quick check that
// a model loads and computes what it should.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/model/generate.h"
#include "core/model/tokenizer.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;

static int run_score(const std::vector<std::string>& args) {
  po::options_description opts("qlab score DIR --text T [--json] [--device cpu|cuda] [--dtype float32|bfloat16|float16]");
  opts.add_options()
      ("help,h", "show this help")
      ("dir", po::value<std::string>(), "Hugging Face checkpoint directory (positional)")
      ("text", po::value<std::string>(), "the text to score (tokenized with BOS as the tokenizer config says)")
      ("json", "print {\"ids\": [...], \"logprob_sum\": x}")
      ("device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or cuda:N")
      ("dtype", po::value<std::string>()->default_value("float32"), "float32, bfloat16 or float16");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw qlab::UsageError(std::string("command line: ") + e.what() + " (qlab score --help)");
  }
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return qlab::kExitOk;
  }
  if (!vm.count("dir")) throw qlab::UsageError("command line: missing DIR (qlab score --help)");
  if (!vm.count("text")) throw qlab::UsageError("command line: missing --text (qlab score --help)");
  const std::string dir = vm["dir"].as<std::string>();
  auto device = qlab::parse_device(vm["device"].as<std::string>());
  auto dtype = qlab::parse_dtype(vm["dtype"].as<std::string>());

  auto tokenizer = qlab::Tokenizer::load(dir);
  auto ids = tokenizer->encode(vm["text"].as<std::string>(), /*add_special=*/true);
  auto model = qlab::Model::load(dir, device, dtype);
  for (int64_t id : ids)
    if (id < 0 || id >= model.config.vocab_size)
      throw qlab::UsageError(dir + ": the tokenizer produced id " + std::to_string(id) + " outside the model's vocabulary of " +
                             std::to_string(model.config.vocab_size));
  torch::NoGradGuard no_grad;
  // log p of tokens 2..n given their prefixes: the first token has no prediction.
  double sum = qlab::token_logprobs(model, ids).sum().item<double>();

  if (vm.count("json")) {
    std::cout << nlohmann::ordered_json{{"ids", ids}, {"logprob_sum", sum}}.dump() << "\n";
  } else {
    std::cout << "ids:";
    for (int64_t id : ids) std::cout << " " << id;
    std::cout << "\ntokens: " << ids.size() << "\nlogprob_sum: " << std::setprecision(10) << sum << "\n";
  }
  return qlab::kExitOk;
}

QLAB_COMMAND(score, "score", "log-probability of a text under a checkpoint", run_score);
