#include "core/model/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/model/arch.h"
#include "core/model/safetensors.h"

namespace qlab {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& problem) {
  throw UsageError(file + ": " + problem);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const std::vector<std::pair<std::string, torch::ScalarType>>& dtype_table() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> t = {
      {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16}, {"F64", torch::kFloat64},
      {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"U8", torch::kUInt8},      {"BOOL", torch::kBool}};
  return t;
}

torch::ScalarType to_torch(const std::string& dtype) {
  for (const auto& [name, type] : dtype_table())
    if (name == dtype) return type;
  throw std::logic_error("safetensors dtype without a torch type: " + dtype);   // the parser admits only the table's
}

std::string from_torch(torch::ScalarType type, const std::string& dir, const std::string& name) {
  for (const auto& [n, t] : dtype_table())
    if (t == type) return n;
  fail(dir, "tensor '" + name + "' has dtype " + std::string(c10::toString(type)) + ", which safetensors cannot hold here");
}

// Pickle-based checkpoints in dir, which we refuse to read.
std::string find_pickle(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt")) return e.path().string();
  }
  return "";
}

// weight_map of model.safetensors.index.json: tensor name -> shard file name.
std::map<std::string, std::string> read_index(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::exception& e) {
    std::string m = e.what();
    fail(path, "not valid JSON: " + m.substr(m.find("] ") == std::string::npos ? 0 : m.find("] ") + 2));
  }
  auto wm = j.is_object() ? j.find("weight_map") : j.end();
  if (!j.is_object() || wm == j.end() || !wm->is_object()) fail(path, "no 'weight_map' object");
  std::map<std::string, std::string> out;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string()) fail(path, "weight_map entry '" + it.key() + "' is not a file name");
    std::string shard = it->get<std::string>();
    // A shard is a file beside the index, never a path elsewhere.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      fail(path, "weight_map entry '" + it.key() + "' names '" + shard + "', not a file in the checkpoint directory");
    out[it.key()] = shard;
  }
  return out;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& dir) {
  if (!fs::is_directory(dir)) fail(dir, "not a directory (expected a Hugging Face checkpoint directory)");
  std::string config_path = dir + "/config.json";
  if (!fs::exists(config_path)) fail(config_path, "missing: a checkpoint directory needs config.json");
  Checkpoint c;
  c.dir_ = dir;
  c.config_ = ModelConfig::from_file(config_path);

  std::string single = dir + "/model.safetensors", index = dir + "/model.safetensors.index.json";
  std::string source;   // the file that lists the tensors, for error messages
  if (fs::exists(single)) {
    source = single;
    c.files_.push_back(SafetensorsFile::open(single));
    for (const auto& t : c.files_[0]->tensors()) c.where_[t.name] = 0;
  } else if (fs::exists(index)) {
    source = index;
    std::map<std::string, size_t> shard_index;
    for (const auto& [name, shard] : read_index(index)) {
      auto [it, added] = shard_index.emplace(shard, c.files_.size());
      if (added) {
        std::string path = dir + "/" + shard;
        if (!fs::exists(path)) fail(path, "shard named in model.safetensors.index.json is missing");
        c.files_.push_back(SafetensorsFile::open(path));
      }
      if (!c.files_[it->second]->find(name))
        fail(c.files_[it->second]->path(), "tensor '" + name + "' listed in model.safetensors.index.json is absent");
      c.where_[name] = it->second;
    }
  } else {
    std::string pickle = find_pickle(dir);
    if (!pickle.empty())
      fail(pickle, "pickle checkpoints are refused: unpickling can execute arbitrary code; convert the model to "
                   "safetensors first (e.g. transformers' save_pretrained(..., safe_serialization=True))");
    fail(dir, "no model.safetensors or model.safetensors.index.json");
  }

  for (const TensorSlot& slot : expected_tensors(c.config_)) {
    if (!c.has(slot.name))
      fail(source, "tensor '" + slot.name + "' is missing (config.json implies it, shape " + shape_text(slot.shape) + ")");
    if (c.shape(slot.name) != slot.shape)
      fail(source, "tensor '" + slot.name + "' has shape " + shape_text(c.shape(slot.name)) + " but config.json implies " +
                       shape_text(slot.shape));
    if (!safetensors_is_float(c.dtype(slot.name)))
      fail(source, "tensor '" + slot.name + "' has dtype " + c.dtype(slot.name) + "; weights must be F32, F16 or BF16");
  }
  return c;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [name, file] : where_) out.push_back(name);
  return out;
}

bool Checkpoint::has(const std::string& name) const { return where_.count(name) > 0; }

static const SafetensorsTensor& entry(const std::map<std::string, size_t>& where,
                                      const std::vector<std::shared_ptr<SafetensorsFile>>& files,
                                      const std::string& dir, const std::string& name) {
  auto it = where.find(name);
  if (it == where.end()) fail(dir, "no tensor '" + name + "' in the checkpoint");
  return *files[it->second]->find(name);
}

std::vector<int64_t> Checkpoint::shape(const std::string& name) const { return entry(where_, files_, dir_, name).shape; }

std::string Checkpoint::dtype(const std::string& name) const { return entry(where_, files_, dir_, name).dtype; }

torch::Tensor Checkpoint::load(const std::string& name, torch::ScalarType dtype, torch::Device device) const {
  const SafetensorsTensor& t = entry(where_, files_, dir_, name);
  // Copy, not from_blob: the map is read-only and its offsets need not be aligned.
  torch::Tensor out = torch::empty(t.shape, torch::TensorOptions().dtype(to_torch(t.dtype)));
  if (t.end > t.begin) std::memcpy(out.data_ptr(), files_[where_.at(name)]->data(t), t.end - t.begin);
  return out.to(device, dtype);
}

void save_tensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                  std::map<std::string, std::string> metadata) {
  std::vector<torch::Tensor> keep;   // contiguous CPU copies the entries point into
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors) {
    keep.push_back(t.detach().to(torch::kCPU).contiguous());
    const torch::Tensor& c = keep.back();
    entries.push_back({name, from_torch(c.scalar_type(), path, name), c.sizes().vec(),
                       std::string_view(static_cast<const char*>(c.data_ptr()), c.nbytes())});
  }
  // transformers refuses safetensors files whose metadata lacks format=pt.
  metadata.emplace("format", "pt");
  write_safetensors(path, std::move(entries), metadata);
}

TensorFile load_tensors(const std::string& path) {
  auto file = SafetensorsFile::open(path);   // validates; UsageError naming the file
  TensorFile out;
  out.metadata = file->metadata();
  for (const SafetensorsTensor& t : file->tensors()) {
    torch::Tensor x = torch::empty(t.shape, torch::TensorOptions().dtype(to_torch(t.dtype)));
    if (t.end > t.begin) std::memcpy(x.data_ptr(), file->data(t), t.end - t.begin);
    out.tensors.emplace(t.name, x);
  }
  return out;
}

void save_checkpoint(const std::string& dir, const ModelConfig& config,
                     const std::map<std::string, torch::Tensor>& tensors, const std::string& tokenizer_dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) fail(dir, "cannot create the output directory");
  save_tensors(dir + "/model.safetensors", tensors);

  write_file_atomically(dir + "/config.json", config.to_json_text());

  if (tokenizer_dir.empty() || fs::equivalent(tokenizer_dir, dir, ec)) return;
  if (!fs::is_directory(tokenizer_dir)) fail(tokenizer_dir, "tokenizer directory not found");
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
                           "generation_config.json"}) {
    fs::path from = fs::path(tokenizer_dir) / file;
    if (fs::exists(from)) {
      fs::copy_file(from, fs::path(dir) / file, fs::copy_options::overwrite_existing, ec);
      if (ec) fail(from.string(), "cannot copy into " + dir + ": " + ec.message());
      fs::permissions(fs::path(dir) / file, fs::perms::owner_write, fs::perm_options::add, ec);   // keep it rewritable
    }
  }
}

}  // namespace qlab
