// Optimisers on the orthogonal group: each parameter is a square matrix X with
// X^T X = I, and stays one after every step (rotations R1, R2, per-layer bases).
//
// CayleySGD (Li, Li & Todorovic, ICLR 2020; what SpinQuant trains with):
//   M <- momentum M - G                       (G: the Euclidean gradient)
//   W_hat = M X^T - 1/2 X (X^T M X^T);  W = W_hat - W_hat^T      (skew)
//   alpha = min(lr, 1 / ||W||)                (the step cap; ||.|| l1 by default)
//   X <- (I - alpha/2 W)^-1 (I + alpha/2 W) X (the Cayley transform: orthogonal)
//   M <- W X                                   (momentum moved to the new tangent space)
// `iterations` > 0 replaces the exact solve by the paper's fixed-point
// iteration Y <- X + alpha/2 W (X + Y), which is cheaper but drifts from
// orthogonality over many steps; the exact solve is the default.
//
// RiemannianAdam (Becigneul & Ganea, ICLR 2019, as geoopt implements it for
// the Euclidean Stiefel manifold; what OSTQuant trains with):
//   g = G - X sym(X^T G)                       (projection to the tangent space)
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g*g
//   X <- qf(X - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps))   (QR retraction)
//   m <- projection of m to the tangent space at the new X
// Euclidean parameters (OSTQuant's smoothing scales, any shape) may ride
// along: plain Adam, no projection or retraction, at lr times their ratio.
//
// Both compute in float64 whatever the parameter's dtype (the master copy may
// be float32) and write the result back in place. Gradients are read from
// each parameter's .grad(); a parameter without one is left alone.
#pragma once
#include "core/tensor.h"

#include <map>
#include <string>
#include <vector>

#include "core/learn/optimizer.h"

namespace qlab {

class StiefelOptimizer : public Optimizer {
 public:
  explicit StiefelOptimizer(std::vector<torch::Tensor> params, double lr);
  void zero_grad() override;
  void set_lr(double lr) override { lr_ = lr; }
  double lr() const override { return lr_; }
  const std::vector<torch::Tensor>& params() const override { return params_; }

 protected:
  std::vector<torch::Tensor> params_;
  double lr_;
};

struct CayleyOptions {
  double momentum = 0.0;        // SpinQuant's SGDG default
  int iterations = 0;           // 0: exact Cayley transform; s > 0: s fixed-point iterations
  bool cap_frobenius = false;   // step cap 1/||W||_F (the authors' code) instead of 1/||W||_1
};

class CayleySGD : public StiefelOptimizer {
 public:
  CayleySGD(std::vector<torch::Tensor> params, double lr, CayleyOptions options = {});
  void step() override;
  std::map<std::string, torch::Tensor> state() const override;
  void load_state(const std::map<std::string, torch::Tensor>& state) override;

 private:
  CayleyOptions options_;
  std::vector<torch::Tensor> momentum_;   // float64, undefined until the first step
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class RiemannianAdam : public StiefelOptimizer {
 public:
  RiemannianAdam(std::vector<torch::Tensor> params, double lr, AdamOptions options = {},
                 std::vector<torch::Tensor> euclidean = {}, double euclidean_lr_ratio = 1.0);
  void step() override;
  std::map<std::string, torch::Tensor> state() const override;
  void load_state(const std::map<std::string, torch::Tensor>& state) override;

 private:
  AdamOptions options_;
  int64_t steps_ = 0;
  size_t on_manifold_;            // params_[0, on_manifold_) are orthogonal; the rest Euclidean
  double euclidean_lr_ratio_;
  std::vector<torch::Tensor> m_, v_;
};

// max |X^T X - I|: how far a matrix is from orthogonal.
double orthogonality_error(const torch::Tensor& X);

}  // namespace qlab
