#include "core/learn/testbed.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/learn/lm_train.h"
#include "core/model/bpe_train.h"
#include "datasets/readers.h"
#include "datasets/synthetic/testbed.h"

namespace qlab {

namespace {

namespace fs = std::filesystem;

// One row per size: the corpus preset, the tokenizer, the architecture and
// the two trainings. The default is sized so that a 2-core CPU builds both
// models in about two minutes (docs/testbed.md has the measurements); gpu
// makes hidden >= 512 and an intermediate size that is not a power of two,
// where rotations matter.
struct Size {
  const char* name;
  const char* corpus;
  int64_t vocab;
  const char* config;
  int64_t seq_len, batch;
  int64_t base_steps, aligned_steps;
  double base_lr, aligned_lr;
  double aligned_chat_fraction;   // rows of the aligned training from aligned_chat.jsonl (the rest: documents)
};

const std::vector<Size>& sizes() {
  static const std::vector<Size> s = {
      {"small", "small", 512,
       "hidden_size=64,intermediate_size=176,num_hidden_layers=2,num_attention_heads=4,num_key_value_heads=2", 128, 8,
       80, 40, 3e-3, 1e-3, 0.75},
      // The testbed tests' pair (docs/testbed.md): small's architecture, but
      // the default corpus (6,000 conversations a chat file, 100 prompts an
      // evaluation file) and an aligned training on nearly only conversations,
      // long enough for two layers of 64 to learn which objects are refused,
      // not only that requests are. Tuned on seeds 3 and 4 (look-alikes
      // refused: 120 steps of 3e-3 at 0.75 answered every prompt, 450 of 3e-3
      // at 0.95 refused 0.35-0.45, 600 of 5e-3 0.03-0.07) and measured on 0-2.
      {"refusal", "default", 512,
       "hidden_size=64,intermediate_size=176,num_hidden_layers=2,num_attention_heads=4,num_key_value_heads=2", 128, 16,
       200, 600, 3e-3, 5e-3, 0.95},
      // Aligned 250 steps, not 170: on corpus version 2 (contrastive pairs)
      // 250 refused as much of seeds 3 and 4's harmful prompts (0.97, 0.99),
      // fewer look-alikes (0.00, 0.00 against 0.03, 0.00) at a lower
      // perplexity (1.568, 1.621 against 1.585, 1.645), for about 20 s more.
      {"default", "default", 1024,
       "hidden_size=128,intermediate_size=352,num_hidden_layers=4,num_attention_heads=4,num_key_value_heads=2", 128, 16,
       500, 250, 3e-3, 1e-3, 0.75},
      {"gpu", "default", 4096,
       "hidden_size=512,intermediate_size=1408,num_hidden_layers=8,num_attention_heads=8,num_key_value_heads=4", 256, 32,
       3000, 800, 1e-3, 3e-4, 0.75},
  };
  return s;
}

const Size& size_named(const std::string& name) {
  for (const Size& s : sizes())
    if (name == s.name) return s;
  std::string known;
  for (const Size& s : sizes()) known += std::string(known.empty() ? "" : ", ") + s.name;
  throw UsageError("unknown testbed size '" + name + "' (known: " + known + ")");
}

// <dir>/qlab_testbed.json: what a finished piece was made from; the
// .pending one: what the piece being built is made from (an interrupted
// training of the same options resumes; of other options, starts over).
const char* kRecord = "qlab_testbed.json";
const char* kPending = "qlab_testbed.pending.json";

nlohmann::json read_record(const std::string& path) {
  std::ifstream f(path);
  if (!f) return nullptr;
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception&) {
    return nullptr;   // damaged: as if absent, the piece is rebuilt
  }
}

void write_record(const std::string& path, const nlohmann::json& made_from) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << made_from.dump(2) << "\n";
    if (!f) throw UsageError(path + ": cannot write");
  }
  fs::rename(tmp, path);
}

// Builds `dir` with `make` unless its record says it was made from exactly `made_from`.
template <class Make>
void piece(const std::string& name, const std::string& dir, const nlohmann::json& made_from, Testbed& t, Make make) {
  if (read_record(dir + "/" + kRecord) == made_from) {
    spdlog::info("testbed: {} is up to date ({})", name, dir);
    return;
  }
  std::error_code ec;
  if (read_record(dir + "/" + kPending) != made_from && fs::exists(dir)) {
    // Only what this builder made is ever removed.
    if (!fs::exists(dir + "/" + kRecord) && !fs::exists(dir + "/" + kPending) && !fs::is_empty(dir, ec))
      throw UsageError(dir + ": exists and is not a testbed piece (give another --out)");
    fs::remove_all(dir, ec);
  }
  fs::create_directories(dir, ec);
  if (ec) throw UsageError(dir + ": cannot create folder (" + ec.message() + ")");
  spdlog::info("testbed: building {} in {}", name, dir);
  fs::remove(dir + "/" + kRecord, ec);
  write_record(dir + "/" + kPending, made_from);
  make();
  write_record(dir + "/" + kRecord, made_from);
  fs::remove(dir + "/" + kPending, ec);
  t.built.push_back(name);
}

LmTrainOptions training(const Size& s, const TestbedOptions& o) {
  LmTrainOptions t;
  t.seq_len = s.seq_len;
  t.batch = s.batch;
  t.seed = o.seed;
  t.device = o.device;
  return t;
}

nlohmann::json describe(const LmTrainOptions& t) {
  return {{"init", t.init_dir.empty() ? "new" : "base"}, {"text", fs::path(t.text_path).filename().string()},
          {"chat", fs::path(t.chat_path).filename().string()}, {"chat_fraction", t.chat_fraction},
          {"all_tokens", t.all_tokens}, {"steps", t.steps}, {"batch", t.batch}, {"seq_len", t.seq_len},
          {"lr", t.lr}, {"min_lr", t.min_lr}, {"warmup", t.warmup}, {"weight_decay", t.weight_decay},
          {"clip", t.clip}, {"seed", t.seed}, {"device", t.device}};
}

}  // namespace

const std::vector<std::string>& testbed_sizes() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Size& s : sizes()) n.push_back(s.name);
    return n;
  }();
  return names;
}

Testbed build_testbed(const TestbedOptions& o) {
  const Size& s = size_named(o.size);
  Testbed t{o.out_dir + "/corpus", o.out_dir + "/tokenizer", o.out_dir + "/base", o.out_dir + "/aligned", {}};

  synthetic::CorpusOptions corpus = synthetic::corpus_preset(s.corpus);
  corpus.seed = o.seed;
  nlohmann::json made = {{"piece", "corpus"}, {"generator", synthetic::kGeneratorVersion}, {"preset", s.corpus},
                         {"seed", o.seed}};
  piece("corpus", t.corpus, made, t, [&] { synthetic::write_testbed_corpus(corpus, t.corpus); });

  made = {{"piece", "tokenizer"}, {"made_from", made}, {"vocab_size", s.vocab}};
  piece("tokenizer", t.tokenizer, made, t, [&] {
    const std::string text = t.corpus + "/pretrain.txt";
    BpeTrainOptions bpe;
    bpe.vocab_size = s.vocab;
    write_tokenizer(train_bpe(read_text_file(text), bpe, text), t.tokenizer);
  });

  // Base: pre-training on the documents and, as all tokens, on conversations
  // that comply with everything (a pre-trained model has seen such dialogue).
  LmTrainOptions base = training(s, o);
  base.config = model_config_from_spec(s.config, 0, s.seq_len);
  base.tokenizer_dir = t.tokenizer;
  base.text_path = t.corpus + "/pretrain.txt";
  base.chat_path = t.corpus + "/base_chat.jsonl";
  base.chat_fraction = 0.3;
  base.all_tokens = true;
  base.steps = s.base_steps;
  base.lr = s.base_lr;
  base.min_lr = s.base_lr / 10;
  base.warmup = std::max<int64_t>(10, s.base_steps / 20);
  base.out_dir = t.base;
  made = {{"piece", "base"}, {"made_from", made}, {"config", s.config}, {"training", describe(base)}};
  piece("base", t.base, made, t, [&] { train_language_model(base); });

  // Aligned: the base fine-tuned on the assistant turns of conversations that
  // refuse the harmful category, mixed with documents so it keeps its text.
  LmTrainOptions aligned = training(s, o);
  aligned.init_dir = t.base;
  aligned.text_path = t.corpus + "/pretrain.txt";
  aligned.chat_path = t.corpus + "/aligned_chat.jsonl";
  aligned.chat_fraction = s.aligned_chat_fraction;
  aligned.steps = s.aligned_steps;
  aligned.lr = s.aligned_lr;
  aligned.min_lr = s.aligned_lr / 10;
  aligned.warmup = std::max<int64_t>(5, s.aligned_steps / 20);
  aligned.out_dir = t.aligned;
  made = {{"piece", "aligned"}, {"made_from", made}, {"training", describe(aligned)}};
  piece("aligned", t.aligned, made, t, [&] { train_language_model(aligned); });
  return t;
}

}  // namespace qlab
