#include "core/learn/lm_memory.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"

namespace qlab {

int64_t count_parameters(const ModelConfig& c) {
  const int64_t h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const int64_t per_layer = h * q + 2 * h * kv + q * h + 3 * h * c.intermediate_size + 2 * h +
                            (c.attention_bias ? q + 2 * kv : 0);
  return c.vocab_size * h * (c.tie_word_embeddings ? 1 : 2) + c.num_layers * per_layer + h;
}

int64_t training_bytes(const ModelConfig& c, int64_t batch, int64_t seq_len, torch::ScalarType dtype) {
  const int64_t p = count_parameters(c);
  const int64_t low = dtype == torch::kFloat32 ? 0 : 2 * int64_t(torch::elementSize(dtype));
  const int64_t state = p * (16 + low);
  const int64_t tokens = batch * seq_len;
  const int64_t per_token_layer = 16 * c.hidden_size + 4 * c.intermediate_size + 2 * c.num_heads * seq_len;
  const int64_t acts = tokens * (c.num_layers * per_token_layer * int64_t(torch::elementSize(dtype)) + 3 * c.vocab_size * 4);
  return state + acts;
}

int64_t available_bytes(torch::Device device) {
  if (device.is_cuda()) {
    using MemGetInfo = int (*)(size_t*, size_t*);
    auto fn = reinterpret_cast<MemGetInfo>(dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
    size_t free = 0, total = 0;
    if (!fn || fn(&free, &total) != 0) return -1;
    return static_cast<int64_t>(free);
  }
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return -1;
}

void check_training_memory(const ModelConfig& c, int64_t batch, int64_t seq_len, torch::ScalarType dtype,
                           torch::Device device) {
  const int64_t need = training_bytes(c, batch, seq_len, dtype), have = available_bytes(device);
  auto gib = [](int64_t b) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(double(b) < double(10LL << 30) ? 2 : 0) << double(b) / double(1LL << 30);
    return s.str();
  };
  if (have < 0) {
    spdlog::warn("train: cannot tell the free memory of {}; about {} GiB are needed", device.str(), gib(need));
    return;
  }
  if (need > have)
    throw UsageError("model config: training needs about " + gib(need) + " GiB (" +
                     std::to_string(count_parameters(c)) + " parameters, batch " + std::to_string(batch) + " x " +
                     std::to_string(seq_len) + " tokens) but only " + gib(have) + " GiB are free on " + device.str() +
                     "; choose a smaller model, --batch or --seq-len");
}

}  // namespace qlab
