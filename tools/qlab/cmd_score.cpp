// qlab score: the log-probability a checkpoint gives a text, a quick check that
// a model loads and computes what it should.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

#include "core/error.h"
#include "core/model/generate.h"
#include "tools/qlab/checkpoint_command.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;

static int run_score(const std::vector<std::string>& args) {
  po::options_description opts("qlab score DIR --text T [--json] [--device cpu|cuda] [--dtype float32|bfloat16|float16]");
  opts.add_options()
      ("help,h", "show this help")
      ("text", po::value<std::string>(), "the text to score (tokenized with BOS as the tokenizer config says)")
      ("json", "print {\"ids\": [...], \"logprob_sum\": x}");
  qlab::cli::add_checkpoint_options(opts);
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "score", {"dir", "text"}, vm)) return qlab::kExitOk;

  qlab::cli::OpenCheckpoint c = qlab::cli::open_checkpoint(vm);
  auto ids = c.tokenizer->encode(vm["text"].as<std::string>(), /*add_special=*/true);
  qlab::cli::check_ids_fit(c, ids);
  torch::NoGradGuard no_grad;
  // log p of tokens 2..n given their prefixes: the first token has no prediction.
  double sum = qlab::token_logprobs(c.model, ids).sum().item<double>();

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
