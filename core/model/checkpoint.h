// A Hugging Face checkpoint directory: config.json plus model.safetensors or
// the shards named by model.safetensors.index.json. Every file is untrusted:
// headers are bounds-checked when opened, before any tensor is read.
// Pickle checkpoints (*.bin, *.pt) are refused: unpickling can run code.
#pragma once
#include "core/tensor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/config.h"

namespace qlab {

class SafetensorsFile;  // core/model/safetensors.h

class Checkpoint {
 public:
  // Throws UsageError naming the file and the problem.
  static Checkpoint open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;
  std::string dtype(const std::string& name) const;        // "F32", "F16", "BF16"

  // Copies the tensor out of the memory map, converted; throws UsageError
  // naming the file when absent.
  torch::Tensor load(const std::string& name, torch::ScalarType dtype = torch::kFloat32,
                     torch::Device device = torch::kCPU) const;

 private:
  std::string dir_;
  ModelConfig config_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;                     // tensor name -> index into files_
};

// Any named tensors in one safetensors file (online-op payloads, learned
// transforms, training checkpoints): written atomically, read back whole on
// the CPU in their stored dtype. Errors name the file (UsageError).
void save_tensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                  std::map<std::string, std::string> metadata = {});
struct TensorFile {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};
TensorFile load_tensors(const std::string& path);

// Writes config.json and model.safetensors (tensors stored in their own dtype,
// made contiguous on the CPU). Copies tokenizer files from tokenizer_dir when
// given. Used by `qlab convert` and `qlab quantize --out`.
void save_checkpoint(const std::string& dir, const ModelConfig& config,
                     const std::map<std::string, torch::Tensor>& tensors,
                     const std::string& tokenizer_dir = "");

}  // namespace qlab
