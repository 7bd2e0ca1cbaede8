// qlab train-tokenizer: a byte-level BPE tokenizer (core/model/bpe_train.h)
// trained on text and/or conversations, written as tokenizer.json and
// tokenizer_config.json into a directory.
#include <boost/program_options.hpp>
#include <iostream>

#include "core/error.h"
#include "core/model/bpe_train.h"
#include "datasets/conversations.h"
#include "datasets/readers.h"
#include "tools/qlab/command.h"
#include "tools/qlab/options.h"

namespace po = boost::program_options;

static int run_train_tokenizer(const std::vector<std::string>& args) {
  qlab::BpeTrainOptions o;
  std::vector<std::string> texts, chats;
  std::string out;
  po::options_description opts("qlab train-tokenizer (--text FILE | --chat FILE)... --vocab-size N --out DIR");
  opts.add_options()
      ("help,h", "show this help")
      ("text", po::value(&texts), "plain-text corpus (UTF-8); repeatable")
      ("chat", po::value(&chats), "JSON lines of conversations, trained on as chatml renders them; repeatable")
      ("vocab-size", po::value(&o.vocab_size)->default_value(o.vocab_size), "bytes + merges + 3 special tokens, at most")
      ("min-frequency", po::value(&o.min_frequency)->default_value(o.min_frequency), "rarest pair still merged")
      ("out", po::value(&out), "output directory (created)");
  po::variables_map vm;
  if (!qlab::cli::parse_command_line(args, opts, "train-tokenizer", vm)) return qlab::kExitOk;
  if ((texts.empty() && chats.empty()) || out.empty())
    throw qlab::UsageError("command line: needs --text FILE or --chat FILE, and --out DIR (qlab train-tokenizer --help)");
  std::string corpus;
  for (const std::string& path : texts) {
    std::string t = qlab::read_text_file(path);
    if (t.empty()) throw qlab::UsageError(path + ": empty corpus");
    corpus += t;
  }
  for (const std::string& path : chats)
    for (const qlab::Conversation& c : qlab::read_conversations(path)) corpus += qlab::render_chat("chatml", c, false, "", "");
  const std::string where = texts.empty() ? chats.front() : texts.front();
  qlab::BpeVocabulary v = qlab::train_bpe(corpus, o, where);
  qlab::write_tokenizer(v, out);
  std::cout << "wrote " << out << " (" << v.size() << " tokens, " << v.merges.size() << " merges)\n";
  return qlab::kExitOk;
}

QLAB_COMMAND(train_tokenizer, "train-tokenizer", "train a byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json)",
             run_train_tokenizer);
