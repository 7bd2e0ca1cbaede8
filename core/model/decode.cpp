#include "core/model/decode.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>

#include "core/model/rope.h"

// Set by CMake for this file where LibTorch has CUDA.
#ifndef QLAB_CUDA_GRAPHS
#define QLAB_CUDA_GRAPHS 0
#endif
#if QLAB_CUDA_GRAPHS
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace qlab {
namespace {

class DynamicDecoder : public Decoder {
 public:
  DynamicDecoder(const Model& m, KVCache& cache, torch::Tensor mask) : m_(m), cache_(cache), mask_(std::move(mask)) {}

  torch::Tensor step(const torch::Tensor& ids) override {
    // Fed tokens, padding of finished rows included, count as real so that no
    // row's attention is ever empty.
    if (mask_.defined()) mask_ = torch::cat({mask_, torch::ones({ids.size(0), 1}, torch::kLong)}, 1);
    return m_.head(m_.hidden_states(ids, mask_, &cache_).select(1, -1));
  }

  void keep_rows(const torch::Tensor& rows) override {
    cache_.keep_rows(rows);
    if (mask_.defined()) mask_ = mask_.index_select(0, rows);
  }

 private:
  const Model& m_;
  KVCache& cache_;
  torch::Tensor mask_;   // [B, past] on the CPU, when padded
};

// Every step reads the same tensors: ids_ (the fed tokens), pos_ (their
// position ids), real_ (which cache indices hold real tokens: the prompts'
// and every fed one) and the cache's write_at (where the fed tokens go).
class FixedShapeDecoder : public Decoder {
 public:
  FixedShapeDecoder(const Model& m, KVCache& cache, const torch::Tensor& mask, bool graph)
      : m_(m), cache_(cache), use_graph_(graph) {
    const auto dev = m.device;
    const int64_t B = cache.k.at(0).size(0), C = cache.k[0].size(2);
    next_ = cache.length();
    auto longs = torch::TensorOptions().dtype(torch::kLong).device(dev);
    real_ = torch::zeros({B, C}, longs.dtype(torch::kBool));
    if (mask.defined()) {
      real_.narrow(1, 0, next_).copy_(mask.to(dev, torch::kBool));
      pos_ = mask.to(dev, torch::kLong).sum(1, /*keepdim=*/true);   // position = real tokens before it
    } else {
      real_.narrow(1, 0, next_).fill_(true);
      pos_ = torch::full({B, 1}, next_, longs);
    }
    ids_ = torch::zeros({B, 1}, longs);
    key_index_ = torch::arange(C, longs);
    inv_freq_ = rope_inv_freq(m.config.rope, m.config.head_dim).to(dev);
    cache_.fix_shapes(torch::zeros({1}, longs));
  }

  torch::Tensor step(const torch::Tensor& ids) override {
    ids_.copy_(ids);
    cache_.write_at.fill_(next_);
    real_.narrow(1, next_, 1).fill_(true);
    torch::Tensor logits = run();
    pos_.add_(1);
    ++next_;
    return logits;
  }

  void keep_rows(const torch::Tensor& rows) override {
    cache_.keep_rows(rows);
    auto on = rows.to(m_.device);
    ids_ = ids_.index_select(0, on);
    pos_ = pos_.index_select(0, on);
    real_ = real_.index_select(0, on);
#if QLAB_CUDA_GRAPHS
    graph_.reset();   // captured for the old batch's shapes and addresses
#endif
  }

 private:
  // The step as operations on the fixed tensors only.
  torch::Tensor body() const {
    const int64_t B = real_.size(0), C = real_.size(1), W = m_.config.sliding_window;
    Model::Positions p;
    p.position_ids = pos_;
    std::tie(p.cos, p.sin) = rope_cos_sin(inv_freq_, pos_, m_.dtype);
    auto allowed = real_;
    if (W > 0) allowed = allowed & (cache_.write_at - key_index_ < W).unsqueeze(0);
    p.mask = allowed.view({B, 1, 1, C});
    auto h = m_.embed_tokens(ids_);
    for (size_t i = 0; i < m_.layers.size(); ++i) h = m_.layer_forward(i, h, p, &cache_);
    return m_.head(h.select(1, -1));
  }

#if QLAB_CUDA_GRAPHS
  // The first step of a batch runs eagerly on a side stream (so that cuBLAS
  // workspaces and everything made lazily exist) and then records the same
  // ops as a graph; later steps replay it. A model whose ops cannot be
  // captured (one that reads a value back to the host, say) decodes without.
  torch::Tensor run() {
    if (!use_graph_) return body();
    if (graph_) {
      graph_->replay();
      return logits_;
    }
    torch::Tensor out;
    c10::cuda::CUDAGuard on_device(m_.device);   // the streams below are the model's device's
    auto side = c10::cuda::getStreamFromPool();
    c10::cuda::getCurrentCUDAStream().synchronize();
    {
      c10::cuda::CUDAStreamGuard on_side(side);
      out = body();
      side.synchronize();
      graph_ = std::make_unique<at::cuda::CUDAGraph>();
      try {
        graph_->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        logits_ = body();
        graph_->capture_end();
      } catch (const std::exception& e) {
        try {
          graph_->capture_end();
        } catch (const std::exception&) {
        }
        graph_.reset();
        use_graph_ = false;
        spdlog::warn("decoding without a CUDA graph: the step could not be captured ({})",
                     std::string(e.what()).substr(0, 200));
      }
    }
    side.synchronize();
    return out;
  }
  std::unique_ptr<at::cuda::CUDAGraph> graph_;
  torch::Tensor logits_;   // the graph's output
#else
  torch::Tensor run() const { return body(); }
#endif

  const Model& m_;
  KVCache& cache_;
  bool use_graph_;
  int64_t next_ = 0;       // cache index of the next fed token
  torch::Tensor ids_, pos_, real_, key_index_, inv_freq_;
};

}  // namespace

struct TokenReadback::Pending {
  torch::Tensor host;
#if QLAB_CUDA_GRAPHS
  std::optional<at::cuda::CUDAEvent> copied;
#endif
};

TokenReadback::TokenReadback() = default;
TokenReadback::~TokenReadback() = default;

void TokenReadback::push(const torch::Tensor& tokens) {
  auto p = std::make_unique<Pending>();
#if QLAB_CUDA_GRAPHS
  if (tokens.is_cuda()) {
    c10::cuda::CUDAGuard on_device(tokens.device());
    p->host = torch::empty(tokens.sizes(), torch::TensorOptions().dtype(tokens.scalar_type()).pinned_memory(true));
    p->host.copy_(tokens, /*non_blocking=*/true);
    p->copied.emplace();
    p->copied->record(c10::cuda::getCurrentCUDAStream());
    pending_.push_back(std::move(p));
    return;
  }
#endif
  p->host = tokens.to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true);
  pending_.push_back(std::move(p));
}

torch::Tensor TokenReadback::pop() {
  if (pending_.empty()) throw std::logic_error("TokenReadback::pop: nothing pushed");
  auto p = std::move(pending_.front());
  pending_.pop_front();
#if QLAB_CUDA_GRAPHS
  if (p->copied) p->copied->synchronize();
#endif
  return p->host;
}

std::unique_ptr<Decoder> make_decoder(const Model& model, KVCache& cache, const torch::Tensor& mask,
                                      DecodePath path) {
  const bool graph = QLAB_CUDA_GRAPHS && model.device.is_cuda() && !model.offloaded();
  if (path == DecodePath::Auto) path = graph ? DecodePath::FixedShape : DecodePath::Dynamic;
  if (path == DecodePath::Dynamic) return std::make_unique<DynamicDecoder>(model, cache, mask);
  return std::make_unique<FixedShapeDecoder>(model, cache, mask, graph);
}

}  // namespace qlab
