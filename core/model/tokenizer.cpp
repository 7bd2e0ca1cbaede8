// Tokenizer::load: which implementation a checkpoint's files call for, and
// tokenizer_config.json.
#include "core/model/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/model/bpe_tokenizer.h"
#include "core/model/sp_model.h"

namespace qlab {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A special token: "text", {"content": "text", ...} or null.
std::string token_text(const json& j) {
  if (j.is_null()) return "";
  if (j.is_object()) return j.at("content").get<std::string>();
  return j.get<std::string>();
}

}  // namespace

TokenizerConfig TokenizerConfig::from_json_text(const std::string& text, const std::string& path_for_errors) {
  TokenizerConfig c;
  try {
    json j = json::parse(text);
    if (!j.is_object()) throw UsageError(path_for_errors + ": expected a JSON object");
    auto boolean = [&](const char* key) { return j.contains(key) && !j[key].is_null() ? int(j[key].get<bool>()) : -1; };
    c.add_bos_token = boolean("add_bos_token");
    c.add_eos_token = boolean("add_eos_token");
    if (j.contains("bos_token")) c.bos_token = token_text(j["bos_token"]);
    if (j.contains("eos_token")) c.eos_token = token_text(j["eos_token"]);
    if (j.contains("pad_token")) c.pad_token = token_text(j["pad_token"]);
    if (j.contains("unk_token")) c.unk_token = token_text(j["unk_token"]);
    if (j.contains("chat_template")) {
      const json& t = j["chat_template"];
      if (t.is_array()) {   // [{name, template}]: "default", else the first
        for (const auto& item : t)
          if (c.chat_template.empty() || item.value("name", "") == "default")
            c.chat_template = item.at("template").get<std::string>();
      } else if (!t.is_null()) {
        c.chat_template = t.get<std::string>();
      }
    }
  } catch (const json::exception& e) {
    throw UsageError(path_for_errors + ": " + e.what());
  }
  return c;
}

TokenizerConfig TokenizerConfig::from_file(const std::string& path) {
  if (!fs::exists(path)) return {};
  return from_json_text(read_text(path), path);
}

namespace {

// tokenizer_config.json usually names BOS / EOS / PAD; a bare tokenizer.model
// (llama2.c) has only the ids in its trainer spec.
std::unique_ptr<Tokenizer> load_sp_model(const std::string& path, TokenizerConfig config) {
  SpModel m = SpModel::read(path);
  auto fill = [&](std::string& token, int id) {
    if (token.empty() && id >= 0 && id < static_cast<int>(m.pieces.size())) token = m.pieces[id].text;
  };
  fill(config.bos_token, m.bos_id);
  fill(config.eos_token, m.eos_id);
  fill(config.pad_token, m.pad_id);
  fill(config.unk_token, m.unk_id);
  return std::make_unique<BpeTokenizer>(m.to_tokenizer_json(path), path, config);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& dir) {
  fs::path p(dir);
  if (fs::is_regular_file(p)) {
    TokenizerConfig config = TokenizerConfig::from_file((p.parent_path() / "tokenizer_config.json").string());
    if (p.extension() == ".json") return std::make_unique<BpeTokenizer>(read_text(dir), dir, config);
    if (p.extension() == ".model") return load_sp_model(dir, config);
    throw UsageError(dir + ": not a tokenizer file (expected tokenizer.json or a SentencePiece .model)");
  }
  if (!fs::is_directory(p)) throw UsageError(dir + ": no such tokenizer directory or file");
  TokenizerConfig config = TokenizerConfig::from_file((p / "tokenizer_config.json").string());
  std::string json_path = (p / "tokenizer.json").string(), model_path = (p / "tokenizer.model").string();
  if (fs::exists(json_path)) return std::make_unique<BpeTokenizer>(read_text(json_path), json_path, config);
  if (fs::exists(model_path)) return load_sp_model(model_path, config);
  throw UsageError(dir + ": no tokenizer found (looked for tokenizer.json, tokenizer.model)");
}

}  // namespace qlab
