// Rotation fusion: orthogonal changes of basis folded into the weights so that
// the full-precision function is unchanged (computational invariance, QuaRot
// §3), while outliers are spread before quantization.
//
// Row-vector convention as in the forward: y = x W^T, W [out, in].
//   reading the residual (q, k, v, gate, up, lm_head):  W <- W Q
//   writing into it (o, down):                          W <- Q^T W,  b <- b Q
//   embedding rows:                                     E <- E Q
// RMSNorm commutes with Q only once its scale is folded into the next linears
// (fuse_norms), leaving plain RMS normalisation. All products run in float64
// and are cast back to the weight's dtype.
#pragma once
#include <torch/torch.h>

#include "core/model/model.h"

namespace qlab {

// Folds input_norm into q/k/v, post_attn_norm into gate/up, final_norm into
// lm_head (untying it from the embedding first); the norms become ones.
// subtract_embedding_mean: the public QuaRot/SpinQuant codes also centre each
// embedding row; not exactly output-preserving for RMSNorm, on for reproduction.
void fuse_norms(Model& model, bool subtract_embedding_mean);

// R1: the residual stream's basis. Q [hidden, hidden] orthogonal. Requires fuse_norms first.
void rotate_residual(Model& model, const torch::Tensor& Q);

// R2: per-head basis of the values. H [head_dim, head_dim] orthogonal applied
// to v_proj's output and undone at o_proj's input, for every head.
void rotate_values(Model& model, const torch::Tensor& H);

// Weight side of an online transform x -> x T on down_proj's input:
// W_down <- W_down T, so that (x T) (W_down T)^T = x W_down^T for orthogonal T.
void fuse_into_down_input(Model& model, const torch::Tensor& T);

// W <- W M (float64 product, cast back), M [in, in'].
void right_multiply(torch::Tensor& weight, const torch::Tensor& M);

}  // namespace qlab
