// Rotations as weight ops: orthogonal changes of basis attached to the
// weights, so that the full-precision function is unchanged (computational
// invariance, QuaRot §3) while outliers are spread before quantization. They
// stay differentiable in their matrices until Model::bake folds them (float64).
//
// Row-vector convention as in the forward: y = x W^T, W [out, in].
//   reading the residual (q, k, v, gate, up, lm_head):  W <- W Q
//   writing into it (o, down):                          W <- Q^T W,  b <- b Q
//   embedding rows:                                     E <- E Q
// RMSNorm commutes with Q only once its scale is folded into the next linears
// (fuse_norms), leaving plain RMS normalisation.
//
// Bases may differ per layer (ReSpinQuant): the residual entering layer i's
// attention is in basis attn_in[i] (A_i), the one entering its MLP in
// mlp_in[i] (B_i), the one entering lm_head in `head` (A_L). Where two
// consecutive bases differ, the skip path still carries the earlier one: the
// method must put the transition on the residual hooks (Layer::attn_skip_ops).
#pragma once
#include "core/tensor.h"

#include <string>
#include <vector>

#include "core/model/model.h"

namespace qlab {

// Folds input_norm into q/k/v, post_attn_norm into gate/up, final_norm into
// lm_head (untying it from the embedding first); the norms become ones. A
// direct rewrite (float64, no grad), done before any rotation is attached.
// subtract_embedding_mean: the public QuaRot/SpinQuant codes also centre each
// embedding row; not exactly output-preserving for RMSNorm, on for reproduction.
void fuse_norms(Model& model, bool subtract_embedding_mean);

struct ResidualBases {
  std::vector<torch::Tensor> attn_in, mlp_in;   // per layer, [hidden, hidden] orthogonal
  torch::Tensor head;
};
// One basis everywhere (QuaRot's and SpinQuant's R1): no transitions needed.
ResidualBases shared_basis(const torch::Tensor& Q, size_t layers);

// Attaches the residual rotations (R1 or per-layer bases) to the embedding,
// every decoder linear and lm_head. Requires fuse_norms first.
void attach_residual_rotation(Model& model, const ResidualBases& bases, const std::string& tag);

// R2: per-head basis of the values, one [head_dim, head_dim] orthogonal matrix
// per layer, applied to v_proj's output and undone at o_proj's input.
void attach_value_rotation(Model& model, const std::vector<torch::Tensor>& per_layer, const std::string& tag);
// The same with one matrix per KV head (OSTQuant): per_layer[i][g] rotates KV
// head g's values and, at o_proj's input, those of every query head reading it.
// A list of one matrix is the shared case above.
void attach_value_rotation(Model& model, const std::vector<std::vector<torch::Tensor>>& per_layer, const std::string& tag);

// The skip path's exact change of basis x <- x (from^T to), computed from the
// live bases on every call (differentiable in them; they are listed in the
// op's tensors so that per-layer recomputation routes their gradients).
// Transient: a learning-time op, never saved.
OnlineOp dense_transition(const torch::Tensor& from, const torch::Tensor& to, const std::string& tag);

// ReSpinQuant's subspace approximation of an orthogonal transition T [d, d]:
// U_r the top-r left singular vectors of T - I, R the orthogonal polar factor
// of U_r^T T U_r, and T_hat = I + U_r (R - I) U_r^T, itself orthogonal; applied
// online as x + ((x U) D) U^T with D = R - I (make_online_op's
// "lowrank_residual"), 2 d r + r^2 multiply-adds a token. r >= d: T_hat = T.
// float64; error = ||T_hat - T||_F.
struct LowRankTransition {
  torch::Tensor U, D;
  double error = 0;
};
LowRankTransition approximate_transition(const torch::Tensor& T, int64_t rank);

// The weight ops themselves, for methods that attach their own.
WeightOp rotate_in(const torch::Tensor& M, const std::string& tag);    // W <- W M
WeightOp rotate_out(const torch::Tensor& M, const std::string& tag);   // W <- M^T W, b <- b M

}  // namespace qlab
