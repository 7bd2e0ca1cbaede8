// LibTorch as qlab uses it: tensors and their ops, autograd (custom
// functions, grad guards), random seeds and the CUDA queries. Also the
// precompiled header of every translation unit that reaches LibTorch.
//
// Not <torch/torch.h>: that adds the nn modules, optimisers, data loaders,
// serialisation and the JIT, twice the parse time of this subset, and a
// precompiled header that costs a file more to load (4.7 s) than most of
// qlab's files take to compile. The few files that need one of those parts
// include its header themselves (torch/optim/..., torch/nn/functional/...).
#pragma once
#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/types.h>
#include <torch/utils.h>
