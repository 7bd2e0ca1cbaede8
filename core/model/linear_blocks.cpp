#include "core/model/linear_blocks.h"

#include <algorithm>

namespace qlab {

const std::vector<std::vector<Linear Layer::*>>& block_groups() {
  static const std::vector<std::vector<Linear Layer::*>> groups = {{&Layer::q, &Layer::k, &Layer::v},
                                                                   {&Layer::gate, &Layer::up}};
  return groups;
}

torch::Tensor adjacent_block(const std::vector<torch::Tensor>& parts) {
  if (parts.empty() || !parts.front().defined() || parts.front().dim() < 1) return {};
  const torch::Tensor& first = parts.front();
  const auto trailing = first.sizes().slice(1);
  const char* next = static_cast<const char*>(first.data_ptr());
  int64_t rows = 0;
  for (const torch::Tensor& t : parts) {
    if (!t.defined() || !t.is_contiguous() || t.scalar_type() != first.scalar_type() || t.dim() != first.dim() ||
        t.sizes().slice(1) != trailing || t.storage().unsafeGetStorageImpl() != first.storage().unsafeGetStorageImpl() ||
        static_cast<const char*>(t.data_ptr()) != next)
      return {};
    next += t.nbytes();
    rows += t.size(0);
  }
  std::vector<int64_t> sizes = first.sizes().vec(), strides(first.dim(), 1);
  sizes[0] = rows;
  for (int64_t d = first.dim() - 2; d >= 0; --d) strides[d] = strides[d + 1] * sizes[d + 1];
  return first.as_strided(sizes, strides);   // from first's storage offset
}

std::optional<Affine> block_of(std::initializer_list<const Linear*> group) {
  const Linear& first = **group.begin();
  const bool graph = torch::GradMode::is_enabled();
  std::vector<torch::Tensor> weights, biases;
  for (const Linear* l : group) {
    if (!l->weight_ops.empty() || !same_ops(l->input_ops, first.input_ops) || l->bias.defined() != first.bias.defined())
      return std::nullopt;
    if (graph && (l->weight.requires_grad() || (l->bias.defined() && l->bias.requires_grad()))) return std::nullopt;
    weights.push_back(l->weight);
    if (l->bias.defined()) biases.push_back(l->bias);
  }
  Affine block{adjacent_block(weights), first.bias.defined() ? adjacent_block(biases) : torch::Tensor()};
  if (!block.weight.defined() || block.weight.dim() != 2 || block.bias.defined() != first.bias.defined())
    return std::nullopt;
  return block;
}

// The rows of `block` handed back to the linears `group` as their `field`,
// each as many rows as `parts` (their tensors before) had.
static void reslice(Layer& l, const std::vector<Linear Layer::*>& group, torch::Tensor Linear::*field,
                    const std::vector<torch::Tensor>& parts, const torch::Tensor& block) {
  int64_t at = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    (l.*group[i]).*field = block.narrow(0, at, parts[i].size(0));
    at += parts[i].size(0);
  }
}

void map_layer_tensors(Layer& l, const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  std::vector<Linear Layer::*> grouped;
  for (const auto& group : block_groups()) {
    for (torch::Tensor Linear::*field : {&Linear::weight, &Linear::bias}) {
      std::vector<torch::Tensor> parts;
      for (auto member : group) parts.push_back((l.*member).*field);
      if (auto block = adjacent_block(parts); block.defined()) {
        reslice(l, group, field, parts, f(block));
      } else {
        for (auto member : group)
          if (((l.*member).*field).defined()) (l.*member).*field = f((l.*member).*field);
      }
    }
    grouped.insert(grouped.end(), group.begin(), group.end());
  }
  for (const auto& slot : layer_linears()) {
    if (std::find(grouped.begin(), grouped.end(), slot.member) != grouped.end()) continue;
    for (torch::Tensor* t : {&(l.*slot.member).weight, &(l.*slot.member).bias})
      if (t->defined()) *t = f(*t);
  }
}

void place_adjacent(Layer& l) {
  for (const auto& group : block_groups()) {
    for (torch::Tensor Linear::*field : {&Linear::weight, &Linear::bias}) {
      std::vector<torch::Tensor> parts;
      for (auto member : group) parts.push_back((l.*member).*field);
      const torch::Tensor& first = parts.front();
      const bool alike = std::all_of(parts.begin(), parts.end(), [&](const torch::Tensor& t) {
        return t.defined() && first.defined() && t.dim() == first.dim() && t.sizes().slice(1) == first.sizes().slice(1) &&
               t.scalar_type() == first.scalar_type() && t.device() == first.device();
      });
      if (alike && !adjacent_block(parts).defined()) reslice(l, group, field, parts, torch::cat(parts, 0));
    }
  }
}

}  // namespace qlab
