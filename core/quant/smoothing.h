// Diagonal smoothing: a positive per-channel scale s moved between the two
// sides of a product, (x diag(1/s)) (diag(s) W^T) = x W^T, exact in full
// precision, so that activation outliers move into the weights (SmoothQuant)
// or a learned balance between the two quantizers is found (OSTQuant).
// Fixed scales are folded directly (SmoothQuant: into the RMSNorm before the
// readers); learnable ones are weight ops (and an input op where the other
// side is a norm) on a frozen base, differentiable in log s so that s stays
// positive whatever the optimiser does. Row-vector convention: y = x W^T.
#pragma once
#include "core/tensor.h"

#include <functional>
#include <string>
#include <vector>

#include "core/model/model.h"

namespace qlab {

// Running per-channel max|x| of an activation (calibration statistics).
struct ChannelMax {
  torch::Tensor value;
  void add(const torch::Tensor& x);
};

// SmoothQuant's s_j = max|X_j|^alpha / max_j|W_j|^(1-alpha) over the readers' input columns.
torch::Tensor smoothing_scales(const ChannelMax& act, const std::vector<Linear*>& readers, double alpha);

// Direct folds (no grad): W <- W diag(s) (the reader's input columns);
// t <- t / s along dim (a norm's scale [d], or a writer's rows [out, in] and bias).
void scale_input_columns(Linear& l, const torch::Tensor& s);
void divide_by_scale(torch::Tensor& t, const torch::Tensor& s, int64_t dim);

// Learnable: log_s in its own shape; `layout` maps s = exp(log_s) to the
// channel vector it scales (e.g. shared across the query heads of one KV head,
// or equal on both halves of a RoPE pair); identity when empty.
using ScaleLayout = std::function<torch::Tensor(const torch::Tensor& s)>;
// W <- W diag(s^power): the input columns.
WeightOp scale_columns_op(const torch::Tensor& log_s, double power, ScaleLayout layout, const std::string& tag);
// W <- diag(s^power) W, b <- b s^power: the output rows.
WeightOp scale_rows_op(const torch::Tensor& log_s, double power, ScaleLayout layout, const std::string& tag);
// x <- x s^power on the last dim: the norm side of a norm-to-linear pair while
// learning (the norm's scale is not a weight op; fold it with divide_by_scale afterwards).
OnlineOp scale_input_op(const torch::Tensor& log_s, double power, const std::string& tag);

}  // namespace qlab
