// What the training loop (core/learn/train.h) drives: an optimiser over a list
// of tensors that require grad, whose learning rate the schedule sets each
// step and whose state a training checkpoint saves. The orthogonal-group
// optimisers (core/learn/stiefel.h) and AdamW for language models
// (core/learn/adamw.h) are ones.
#pragma once
#include "core/tensor.h"

#include <map>
#include <string>
#include <vector>

namespace qlab {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  virtual void zero_grad() = 0;
  virtual void set_lr(double lr) = 0;
  virtual double lr() const = 0;
  // The tensors a checkpoint saves and restores (in place, in this order).
  virtual const std::vector<torch::Tensor>& params() const = 0;
  // The optimiser's own state (moments, step count) by name; load_state
  // restores what state() returned, after params() have been restored.
  virtual std::map<std::string, torch::Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, torch::Tensor>& state) = 0;
};

}  // namespace qlab
