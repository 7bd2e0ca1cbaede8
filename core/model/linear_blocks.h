// The linears of a layer that read one activation (q, k, v; gate, up) held
// as consecutive rows of one storage, so that the forward can run one GEMM
// over their block and split its output (at 8B, batch 1, three products of
// 4096, 1024 and 1024 rows become one of 6144). Each Linear keeps its own
// weight, a view into the block, so that methods, GPTQ and saving see
// q/k/v as before, and in-place edits (copy_, mul_) land in the block. A
// method that replaces a weight tensor breaks the block: the forward checks
// adjacency every time (pointer arithmetic) and then runs one GEMM each.
#pragma once
#include "core/tensor.h"

#include <functional>
#include <initializer_list>
#include <optional>
#include <vector>

#include "core/model/model.h"

namespace qlab {

// The groups of a layer's linears that read one activation, each in the
// order of its rows in a block.
const std::vector<std::vector<Linear Layer::*>>& block_groups();

// The tensors as one view [sum of their rows, ...] where each is contiguous
// and starts where the one before ends in the same storage (so of one dtype
// and device), with the same trailing sizes; undefined otherwise.
torch::Tensor adjacent_block(const std::vector<torch::Tensor>& parts);

// The weight (and bias) of the linears as one block, where one GEMM over it
// computes what theirs do: no weight ops, the same input ops (same_ops), the
// weights adjacent and the biases all absent or adjacent, and no autograd
// graph to build through them (grad mode off or nothing requiring grad).
std::optional<Affine> block_of(std::initializer_list<const Linear*> group);

// Every weight and bias of the layer replaced by f of it, a group's weights
// (biases) as one f of their block where they are adjacent, so that moving
// (Layer::to) or copying keeps them adjacent.
void map_layer_tensors(Layer& l, const std::function<torch::Tensor(const torch::Tensor&)>& f);

// Puts each group's weights (biases) of the layer into one new block, the
// values unchanged: after loading a checkpoint or making random weights.
void place_adjacent(Layer& l);

}  // namespace qlab
