// AdamW for language-model training (torch::optim::AdamW, decoupled weight
// decay) in the shape the training loop drives (core/learn/optimizer.h):
//  - two parameter groups: matrices decay, norm scales and biases do not;
//  - the global gradient norm is clipped to `clip` before every step
//    (torch::nn::utils::clip_grad_norm_; clip <= 0: no clipping);
//  - float32 master weights: when the model's weights are in a lower precision
//    (bfloat16 on the GPU), the optimiser keeps float32 copies, steps those
//    with the gradients cast up, and writes them back rounded; in float32 the
//    model's weights are the masters themselves.
// The state for checkpoints is torch's own serialisation of the optimiser,
// kept as one byte tensor (its key layout differs between LibTorch versions).
#pragma once
#include "core/tensor.h"

#include <memory>
#include <vector>

#include "core/learn/optimizer.h"

namespace torch::optim {
class AdamW;   // core/learn/adamw.cpp alone includes the optimiser headers
}

namespace qlab {

struct AdamWSettings {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0.1;
  double clip = 1.0;
};

class AdamW : public Optimizer {
 public:
  // weights: the model's tensors that require grad; decay[i]: whether
  // weights[i] takes weight decay.
  AdamW(std::vector<torch::Tensor> weights, const std::vector<bool>& decay, const AdamWSettings& settings);
  ~AdamW() override;
  void step() override;
  void zero_grad() override;
  void set_lr(double lr) override;
  double lr() const override { return lr_; }
  const std::vector<torch::Tensor>& params() const override { return masters_; }
  std::map<std::string, torch::Tensor> state() const override;
  void load_state(const std::map<std::string, torch::Tensor>& state) override;
  // The gradient norm before the last step's clipping.
  double last_grad_norm() const { return grad_norm_; }

 private:
  void write_back();   // masters -> weights (a no-op in float32)

  std::vector<torch::Tensor> weights_, masters_;
  std::unique_ptr<torch::optim::AdamW> adam_;
  double lr_, clip_, grad_norm_ = 0;
};

}  // namespace qlab
