// qlab train: pre-train or fine-tune a small LLaMA-architecture model
// (core/learn/lm_train.h) and write a Hugging Face checkpoint directory.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/learn/lm_train.h"
#include "core/learn/train.h"
#include "core/runner.h"
#include "tools/qlab/command.h"
#include "tools/qlab/options.h"

namespace po = boost::program_options;

static int run_train(const std::vector<std::string>& args) {
  qlab::LmTrainOptions o;
  po::options_description opts(
      "qlab train (--tokenizer DIR --config SPEC | --init DIR) (--text FILE | --chat FILE) --out DIR");
  opts.add_options()
      ("help,h", "show this help")
      ("config", po::value<std::string>()->default_value(""),
       "architecture of a new model: JSON or key=value list in config.json's names "
       "(e.g. hidden_size=128,num_hidden_layers=4,num_attention_heads=4,intermediate_size=352)")
      ("init", po::value(&o.init_dir), "fine-tune this checkpoint directory instead of a new model")
      ("tokenizer", po::value(&o.tokenizer_dir), "tokenizer directory (default: --init's)")
      ("text", po::value(&o.text_path), "plain-text corpus (UTF-8)")
      ("chat", po::value(&o.chat_path), "JSON lines of {\"messages\": [{\"role\", \"content\"}, ...]}")
      ("chat-fraction", po::value(&o.chat_fraction)->default_value(o.chat_fraction), "rows from --chat when both are given")
      ("all-tokens", po::bool_switch(&o.all_tokens), "chat: train on every token, not only the assistant's")
      ("steps", po::value(&o.steps)->default_value(o.steps), "optimiser steps")
      ("batch", po::value(&o.batch)->default_value(o.batch), "rows a step")
      ("seq-len", po::value(&o.seq_len)->default_value(o.seq_len), "tokens a row")
      ("lr", po::value(&o.lr)->default_value(o.lr), "peak learning rate")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "linear warm-up steps")
      ("min-lr", po::value(&o.min_lr)->default_value(o.min_lr), "learning rate at the end of the cosine")
      ("weight-decay", po::value(&o.weight_decay)->default_value(o.weight_decay), "AdamW decay of the matrices")
      ("clip", po::value(&o.clip)->default_value(o.clip), "gradient-norm clip (0: none)")
      ("seed", po::value(&o.seed)->default_value(o.seed), "initialisation and data order")
      ("device", po::value(&o.device)->default_value(o.device), "cpu (float32) or cuda[:N] (bfloat16, float32 masters)")
      ("checkpoint-every", po::value(&o.checkpoint_every)->default_value(o.checkpoint_every),
       "steps between training states kept in --out (a rerun resumes)")
      ("out", po::value(&o.out_dir), "output checkpoint directory");
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "train", vm)) return qlab::kExitOk;
  if (o.out_dir.empty()) throw qlab::UsageError("command line: needs --out DIR (qlab train --help)");
  if (o.init_dir.empty()) {
    if (o.tokenizer_dir.empty()) throw qlab::UsageError("command line: a new model needs --tokenizer DIR (or --init DIR)");
    o.config = qlab::model_config_from_spec(vm["config"].as<std::string>(), 0, o.seq_len);
  } else if (!vm["config"].as<std::string>().empty()) {
    throw qlab::UsageError("command line: --config and --init exclude each other (the checkpoint has its architecture)");
  }
  qlab::StopSignals signals;
  try {
    qlab::LmTrainResult r = qlab::train_language_model(o);
    std::cout << "wrote " << o.out_dir << " (" << r.parameters << " parameters, final loss " << r.losses.back() << ", "
              << static_cast<int64_t>(r.tokens_per_second) << " tokens/s)\n";
  } catch (const qlab::TrainingStopped& e) {
    spdlog::warn("{}", e.what());
    return qlab::kExitInterrupted;
  }
  return qlab::kExitOk;
}

QLAB_COMMAND(train, "train", "pre-train or fine-tune a small LLaMA-architecture model into a checkpoint directory",
             run_train);
