// The decode steps of generate(): once the prompts are in the cache, each
// step feeds one token per row and returns the logits of what comes next.
//
// Two ways to run a step. Dynamic: the model's forward with a cache that
// grows by one position, the mask and positions rebuilt each step. Fixed
// shape: static input tensors, a cache of full capacity written at a device
// index and a mask over all of it, so that every step is the same sequence of
// kernels on the same addresses; on a CUDA model that sequence is captured
// once as a CUDA graph and replayed, which removes the host's per-kernel
// launch cost (a 7B decode step is ~1,500 small kernels, far more host time
// than GPU time at small batch). Both compute the same function: the fixed
// shape only adds masked positions of probability zero.
#pragma once
#include <deque>
#include <memory>

#include "core/model/model.h"

namespace qlab {

enum class DecodePath {
  Auto,        // fixed shape with a CUDA graph on a CUDA model that is not offloaded, else dynamic
  Dynamic,
  FixedShape,  // with a CUDA graph on CUDA, plain replays of the same ops elsewhere (tests)
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // ids [rows, 1] int64 on the CPU or the model's device -> logits [rows,
  // vocab] float32 of the fed tokens, valid until the next call.
  virtual torch::Tensor step(const torch::Tensor& ids) = 0;
  // Keeps the batch rows `rows` (int64 indices on the CPU, in that order).
  virtual void keep_rows(const torch::Tensor& rows) = 0;
};

// Tokens picked on the device, read on the host without waiting for the work
// queued after them (a copy to pinned memory and an event each), so that the
// host can launch the next decode step before it reads this step's tokens and
// the GPU does not wait for the host between steps. CPU tokens pass through.
class TokenReadback {
 public:
  TokenReadback();
  ~TokenReadback();
  void push(const torch::Tensor& tokens);   // int64, any device; copied as it is now
  torch::Tensor pop();                      // the oldest pushed, on the CPU, once its copy is done

 private:
  struct Pending;
  std::deque<std::unique_ptr<Pending>> pending_;
};

// The decoder for a cache that holds the prompts; mask [B, T] (1 = real
// token) when the prompts are padded, else undefined. The cache must have
// room for every token still to be fed.
std::unique_ptr<Decoder> make_decoder(const Model& model, KVCache& cache, const torch::Tensor& mask,
                                      DecodePath path);

}  // namespace qlab
