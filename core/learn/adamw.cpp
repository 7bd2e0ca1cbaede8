#include "core/learn/adamw.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>

#include <cstring>
#include <sstream>

#include "core/error.h"

namespace qlab {

AdamW::AdamW(std::vector<torch::Tensor> weights, const std::vector<bool>& decay, const AdamWSettings& s)
    : weights_(std::move(weights)), lr_(s.lr), clip_(s.clip) {
  std::vector<torch::Tensor> with_decay, without;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const torch::Tensor& w = weights_[i];
    torch::Tensor master = w.scalar_type() == torch::kFloat32 ? w : w.detach().to(torch::kFloat32).requires_grad_(true);
    masters_.push_back(master);
    (decay[i] ? with_decay : without).push_back(master);
  }
  auto options = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(s.lr)
                                                            .betas(std::make_tuple(s.beta1, s.beta2))
                                                            .eps(s.eps)
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(with_decay, options(s.weight_decay));
  groups.emplace_back(without, options(0.0));
  adam_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(s.lr));
}

AdamW::~AdamW() = default;

void AdamW::zero_grad() {
  for (auto* list : {&weights_, &masters_})
    for (torch::Tensor& t : *list)
      if (t.grad().defined()) t.mutable_grad() = torch::Tensor();
}

void AdamW::set_lr(double lr) {
  lr_ = lr;
  for (auto& group : adam_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

void AdamW::step() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i)
    if (!masters_[i].is_same(weights_[i]) && weights_[i].grad().defined())
      masters_[i].mutable_grad() = weights_[i].grad().to(torch::kFloat32);
  grad_norm_ = clip_ > 0 ? torch::nn::utils::clip_grad_norm_(masters_, clip_) : 0.0;
  adam_->step();
  write_back();
}

void AdamW::write_back() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i)
    if (!masters_[i].is_same(weights_[i])) weights_[i].copy_(masters_[i]);
}

std::map<std::string, torch::Tensor> AdamW::state() const {
  std::ostringstream out;
  torch::save(*adam_, out);
  std::string bytes = out.str();
  torch::Tensor blob = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(blob.data_ptr(), bytes.data(), bytes.size());
  return {{"adamw", blob}};
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& state) {
  auto it = state.find("adamw");
  if (it == state.end()) throw UsageError("no AdamW state in it");
  torch::Tensor blob = it->second.contiguous();
  std::istringstream in(std::string(static_cast<const char*>(blob.data_ptr()), blob.numel()));
  try {
    torch::load(*adam_, in);
  } catch (const c10::Error& e) {
    throw UsageError("its AdamW state does not load: " + std::string(e.what_without_backtrace()));
  }
  write_back();   // the loop restored the masters
}

}  // namespace qlab
