// qlab generate: continue a prompt with a checkpoint (greedy or sampled).
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "core/error.h"
#include "core/model/chat_template.h"
#include "core/model/generate.h"
#include "tools/qlab/checkpoint_command.h"
#include "tools/qlab/command.h"

namespace po = boost::program_options;

static int run_generate(const std::vector<std::string>& args) {
  po::options_description opts(
      "qlab generate DIR --prompt T --max-new-tokens N [--greedy | --temperature X --top-p P --seed S] [--chat] [--json]");
  opts.add_options()
      ("help,h", "show this help")
      ("prompt", po::value<std::string>(), "the prompt text")
      ("max-new-tokens", po::value<int64_t>()->default_value(64), "at most this many tokens are generated")
      ("greedy", "take the most likely token each step (the default unless --temperature or --top-p is given)")
      ("temperature", po::value<double>(), "sample with this temperature (> 0)")
      ("top-p", po::value<double>(), "sample from the smallest set of tokens holding this much probability (0, 1]")
      ("seed", po::value<uint64_t>()->default_value(0), "seed of the sampler")
      ("chat", "wrap the prompt in the checkpoint's chat format (as a user turn) first")
      ("system", po::value<std::string>(), "with --chat: a system message")
      ("json", "print {\"prompt_ids\": [...], \"generated_ids\": [...], \"text\": \"...\"}");
  qlab::cli::add_checkpoint_options(opts);
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "generate", {"dir", "prompt"}, vm)) return qlab::kExitOk;
  qlab::GenerateOptions o;
  o.max_new_tokens = vm["max-new-tokens"].as<int64_t>();
  if (o.max_new_tokens < 0) throw qlab::UsageError("command line: --max-new-tokens must be >= 0");
  const bool sampling = vm.count("temperature") || vm.count("top-p");
  if (sampling && vm.count("greedy")) throw qlab::UsageError("command line: --greedy excludes --temperature and --top-p");
  o.greedy = !sampling;
  if (vm.count("temperature")) o.temperature = vm["temperature"].as<double>();
  if (vm.count("top-p")) o.top_p = vm["top-p"].as<double>();
  if (!(o.temperature > 0)) throw qlab::UsageError("command line: --temperature must be > 0");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw qlab::UsageError("command line: --top-p must be in (0, 1]");
  if (vm.count("system") && !vm.count("chat")) throw qlab::UsageError("command line: --system needs --chat");
  o.seed = vm["seed"].as<uint64_t>();
  qlab::cli::OpenCheckpoint c = qlab::cli::open_checkpoint(vm);
  const auto& tokenizer = c.tokenizer;
  qlab::Model& model = c.model;
  std::vector<int64_t> prompt_ids;
  if (vm.count("chat")) {
    std::vector<qlab::Message> messages;
    if (vm.count("system")) messages.push_back({"system", vm["system"].as<std::string>()});
    messages.push_back({"user", vm["prompt"].as<std::string>()});
    auto format = qlab::detect_chat_template(model.config.model_type, tokenizer->chat_template());
    // The rendered text carries BOS itself.
    prompt_ids = tokenizer->encode(qlab::render_chat(format, messages, true, "", ""), /*add_special=*/false);
  } else {
    prompt_ids = tokenizer->encode(vm["prompt"].as<std::string>(), /*add_special=*/true);
  }
  if (prompt_ids.empty()) throw qlab::UsageError("command line: the prompt encodes to no tokens");
  qlab::cli::check_ids_fit(c, prompt_ids);
  o.stop_ids = tokenizer->eos_ids();
  for (int64_t id : model.config.eos_token_ids)
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), id) == o.stop_ids.end()) o.stop_ids.push_back(id);
  o.pad_id = std::max<int64_t>(0, tokenizer->pad_id());

  auto generated = qlab::generate(model, {prompt_ids}, o)[0];
  std::string text = tokenizer->decode(generated, /*skip_special=*/true);
  if (vm.count("json")) {
    nlohmann::ordered_json j{{"prompt_ids", prompt_ids}, {"generated_ids", generated}, {"text", text}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << text << "\n";
  }
  return qlab::kExitOk;
}

QLAB_COMMAND(generate, "generate", "continue a prompt with a checkpoint (greedy or sampled)", run_generate);
