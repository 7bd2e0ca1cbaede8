#include "core/learn/lm_train.h"

#include <spdlog/spdlog.h>
#include <torch/nn/functional/loss.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/engine/device.h"
#include "core/hash.h"
#include "core/learn/adamw.h"
#include "core/learn/lm_data.h"
#include "core/learn/lm_memory.h"
#include "core/learn/train.h"
#include "core/model/checkpoint.h"
#include "core/model/init.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "datasets/readers.h"

namespace qlab {

namespace fs = std::filesystem;
using nlohmann::json;

ModelConfig model_config_from_spec(const std::string& spec, int64_t vocab_size, int64_t seq_len) {
  json j = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
            {"hidden_size", 128}, {"intermediate_size", 352}, {"num_hidden_layers", 4},
            {"num_attention_heads", 4}, {"max_position_embeddings", seq_len},
            {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"hidden_act", "silu"},
            {"tie_word_embeddings", true}, {"torch_dtype", "float32"}};
  const size_t first = spec.find_first_not_of(" \t\n");
  if (first != std::string::npos && spec[first] == '{') {
    json user;
    try {
      user = json::parse(spec);
    } catch (const json::exception& e) {
      throw UsageError(std::string("--config: not valid JSON: ") + e.what());
    }
    j.update(user);
  } else {
    std::string s = spec;
    for (char& c : s)
      if (c == ',') c = ' ';
    std::istringstream in(s);
    for (std::string item; in >> item;) {
      size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError("--config: '" + item + "' is not key=value");
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      json v;
      try {   // numbers and booleans as JSON, anything else as a string
        v = json::parse(value);
      } catch (const json::exception&) {
        v = value;
      }
      if (key == "architectures") v = json::array({value});
      j[key] = v;
    }
  }
  // vocab_size 0 means "the tokenizer's": validated as 1, returned as 0.
  const bool from_tokenizer = !j.contains("vocab_size") && vocab_size <= 0;
  if (!j.contains("vocab_size")) j["vocab_size"] = from_tokenizer ? 1 : vocab_size;
  ModelConfig c = ModelConfig::from_json_text(j.dump(), "--config");
  if (from_tokenizer) c.vocab_size = 0;
  return c;
}

namespace {

// The files a run reads, whole or by size, and every setting that changes
// its steps: what a training state must match to be resumed from.
std::string fingerprint(const LmTrainOptions& o, const ModelConfig& config, const std::string& text,
                        const std::string& chat, const std::string& tokenizer_dir) {
  Sha256 h;
  auto add = [&](const std::string& s) {
    std::string n = std::to_string(s.size()) + ":";
    h.update(n.data(), n.size());
    h.update(s.data(), s.size());
  };
  add(config.to_json_text());
  add(text);
  add(chat);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::path p = fs::path(tokenizer_dir) / f;
    add(fs::exists(p) ? read_text_file(p.string()) : "");
  }
  if (!o.init_dir.empty()) {
    std::error_code ec;
    add(std::to_string(fs::file_size(fs::path(o.init_dir) / "model.safetensors", ec)));
  }
  std::ostringstream s;
  s.precision(17);
  s << o.init_dir << '|' << o.chat_fraction << '|' << o.all_tokens << '|' << o.steps << '|' << o.batch << '|'
    << o.seq_len << '|' << o.lr << '|' << o.min_lr << '|' << o.warmup << '|' << o.weight_decay << '|' << o.clip
    << '|' << o.seed << '|' << o.device;
  add(s.str());
  return h.hex().substr(0, 16);
}

}  // namespace

torch::Tensor batch_loss(const Model& model, const Batch& b, torch::Device device) {
  torch::Tensor logits = model.forward(b.inputs.to(device));
  torch::Tensor ce = torch::nn::functional::cross_entropy(
      logits.view({-1, logits.size(-1)}), b.targets.to(device).view(-1),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  torch::Tensor w = b.weights.to(device).view(-1);
  return (ce * w).sum() / w.sum().clamp_min(1.0);
}

namespace {

void check_options(const LmTrainOptions& o) {
  if (o.text_path.empty() && o.chat_path.empty()) throw UsageError("train: needs --text FILE and/or --chat FILE");
  if (o.out_dir.empty()) throw UsageError("train: needs --out DIR");
  auto positive = [](const char* name, int64_t v) {
    if (v <= 0) throw UsageError(std::string("--") + name + " must be positive, got " + std::to_string(v));
  };
  positive("steps", o.steps);
  positive("batch", o.batch);
  positive("seq-len", o.seq_len);
  positive("checkpoint-every", o.checkpoint_every);
  if (o.warmup < 0 || o.warmup >= o.steps)
    throw UsageError("--warmup must be in [0, --steps), got " + std::to_string(o.warmup));
  if (!(o.lr > 0) || o.min_lr < 0 || o.min_lr > o.lr)
    throw UsageError("--lr must be positive and --min-lr in [0, --lr]");
  if (o.chat_fraction < 0 || o.chat_fraction > 1) throw UsageError("--chat-fraction must be in [0, 1]");
  if (o.weight_decay < 0) throw UsageError("--weight-decay must not be negative");
}

}  // namespace

LmTrainResult train_language_model(const LmTrainOptions& o) {
  check_options(o);
  const torch::Device device = parse_device(o.device);
  const torch::ScalarType dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;

  const std::string tokenizer_dir = o.tokenizer_dir.empty() ? o.init_dir : o.tokenizer_dir;
  if (tokenizer_dir.empty()) throw UsageError("train: needs --tokenizer DIR (or --init DIR with one)");
  std::unique_ptr<Tokenizer> tok = Tokenizer::load(tokenizer_dir);

  ModelConfig config = o.init_dir.empty() ? o.config : ModelConfig::from_file(o.init_dir + "/config.json");
  if (config.vocab_size == 0) config.vocab_size = tok->vocab_size();
  if (config.vocab_size < tok->vocab_size())
    throw UsageError("model config: vocab_size " + std::to_string(config.vocab_size) + " is smaller than the tokenizer's " +
                     std::to_string(tok->vocab_size()) + " (" + tokenizer_dir + ")");
  if (o.init_dir.empty()) {
    // Generation stops at the end of a turn and at the end of a document.
    config.eos_token_ids = tok->eos_ids();
    if (tok->pad_id() >= 0 && std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), tok->pad_id()) ==
                                  config.eos_token_ids.end())
      config.eos_token_ids.push_back(tok->pad_id());
    config.bos_token_ids = tok->bos_id() >= 0 ? std::vector<int64_t>{tok->bos_id()} : std::vector<int64_t>{};
  }
  config.torch_dtype = "float32";

  // Data first: bad input is refused before anything is allocated.
  std::string text, chat_text;
  std::vector<int64_t> text_ids;
  if (!o.text_path.empty()) {
    text = read_text_file(o.text_path);
    if (text.empty()) throw UsageError(o.text_path + ": empty corpus");
    text_ids = tok->encode(text, false);
  }
  std::vector<MaskedTokens> chats;
  if (!o.chat_path.empty()) {
    chat_text = read_text_file(o.chat_path);
    const std::string chat_template = detect_chat_template(config.model_type, tok->chat_template());
    for (const Conversation& c : read_conversations(o.chat_path))
      chats.push_back(tokenize_conversation(*tok, chat_template, c));
  }
  LmData data(std::move(text_ids), std::move(chats), tok->pad_id(),
              {o.batch, o.seq_len, o.chat_fraction, o.all_tokens, o.seed}, o.text_path);

  check_training_memory(config, o.batch, o.seq_len, dtype, device);

  Model model = o.init_dir.empty() ? init_model(config, o.seed) : Model::load(o.init_dir, torch::kCPU, torch::kFloat32);
  model.config = config;
  model.to(device, dtype);
  // Every weight trains (a tied lm_head once); matrices decay, norms and biases not.
  std::vector<torch::Tensor> weights;
  std::vector<bool> decay;
  std::set<const void*> seen;
  for (auto& [name, t] : model.checkpoint_tensors()) {
    if (!seen.insert(t.unsafeGetTensorImpl()).second) continue;
    t.requires_grad_(true);
    weights.push_back(t);
    decay.push_back(t.dim() >= 2);
  }
  AdamW optimizer(weights, decay, {o.lr, 0.9, 0.95, 1e-8, o.weight_decay, o.clip});

  TrainOptions t;
  t.label = "train";
  t.steps = o.steps;
  t.lr = o.lr;
  t.min_lr = o.min_lr;
  t.warmup = o.warmup;
  t.schedule = "cosine";
  t.tokens_per_step = data.tokens_per_batch();
  t.checkpoint_path = o.out_dir + "/train_state.safetensors";
  t.fingerprint = fingerprint(o, config, text, chat_text, tokenizer_dir);
  t.checkpoint_every = o.checkpoint_every;
  t.should_stop = o.should_stop;
  spdlog::info("train: {} parameters ({} layers, hidden {}, vocab {}), {} steps of {} x {} tokens on {}",
               model.num_parameters(), config.num_layers, config.hidden_size, config.vocab_size, o.steps, o.batch,
               o.seq_len, device.str());

  // The loss on one batch never trained on (drawn as step `steps`), before
  // and after: whether training helped, free of batch-to-batch noise.
  const Batch held = data.batch_at(o.steps);
  t.probe = [&] {
    torch::NoGradGuard no_grad;
    return batch_loss(model, held, device).item<double>();
  };
  TrainResult r = train(optimizer, [&](int64_t step) { return StepLoss{batch_loss(model, data.batch_at(step), device), {}}; }, t);

  // The checkpoint: float32 on the CPU, whatever the training precision.
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, w] : model.checkpoint_tensors()) tensors[name] = w.detach().to(torch::kCPU, torch::kFloat32);
  save_checkpoint(o.out_dir, config, tensors, tokenizer_dir);
  json gen = {{"eos_token_id", config.eos_token_ids}, {"pad_token_id", tok->pad_id()}, {"do_sample", false}};
  if (!config.bos_token_ids.empty()) gen["bos_token_id"] = config.bos_token_ids[0];
  write_file_atomically(o.out_dir + "/generation_config.json", gen.dump(2) + "\n");

  LmTrainResult out;
  out.losses = r.losses;
  out.resumed_at = r.resumed_at;
  out.parameters = model.num_parameters();
  out.seconds = r.seconds;
  out.held_loss_before = r.probe_before;
  out.held_loss_after = r.probe_after;
  out.tokens_per_second = r.seconds > 0 ? double(r.steps_run * data.tokens_per_batch()) / r.seconds : 0;
  return out;
}

}  // namespace qlab
