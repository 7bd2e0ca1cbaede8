#include "core/learn/stiefel.h"

#include <stdexcept>

namespace qlab {

namespace {
torch::Tensor f64(const torch::Tensor& t) { return t.detach().to(torch::kFloat64); }

void write_back(torch::Tensor& param, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  param.copy_(value.to(param.scalar_type()));
}

torch::Tensor eye_like(const torch::Tensor& X) { return torch::eye(X.size(0), X.options()); }

// Q of X = QR with R's diagonal made positive (the QR retraction).
torch::Tensor qf(const torch::Tensor& X) {
  auto qr = at::linalg_qr(X);
  const torch::Tensor& q = std::get<0>(qr);
  const torch::Tensor& r = std::get<1>(qr);
  auto sign = torch::sign(torch::diagonal(r));
  sign = torch::where(sign == 0, torch::ones_like(sign), sign);
  return q * sign.unsqueeze(0);
}

torch::Tensor sym(const torch::Tensor& A) { return 0.5 * (A + A.t()); }

torch::Tensor tangent(const torch::Tensor& X, const torch::Tensor& G) { return G - X.matmul(sym(X.t().matmul(G))); }

std::string key(const char* what, size_t i) { return std::string(what) + "." + std::to_string(i); }
}  // namespace

StiefelOptimizer::StiefelOptimizer(std::vector<torch::Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
  for (const auto& p : params_)
    if (p.dim() != 2 || p.size(0) != p.size(1))
      throw std::invalid_argument("Stiefel optimiser: parameters must be square matrices");
}

void StiefelOptimizer::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

double orthogonality_error(const torch::Tensor& X) {
  auto x = f64(X);
  return (x.t().matmul(x) - eye_like(x)).abs().max().item<double>();
}

CayleySGD::CayleySGD(std::vector<torch::Tensor> params, double lr, CayleyOptions options)
    : StiefelOptimizer(std::move(params), lr), options_(options), momentum_(params_.size()) {}

void CayleySGD::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    auto X = f64(p), G = f64(p.grad());
    auto M = momentum_[i].defined() ? options_.momentum * momentum_[i] - G : -G;
    auto MX = M.matmul(X.t());
    auto W_hat = MX - 0.5 * X.matmul(X.t().matmul(MX));
    auto W = W_hat - W_hat.t();
    const double norm = options_.cap_frobenius ? W.norm().item<double>() : W.abs().sum(0).max().item<double>();
    const double alpha = std::min(lr_, 1.0 / (norm + 1e-8));
    torch::Tensor Y;
    if (options_.iterations <= 0) {
      auto I = eye_like(X);
      auto half = 0.5 * alpha * W;
      Y = at::linalg_solve(I - half, (I + half).matmul(X));
    } else {
      Y = X + alpha * W.matmul(X);
      for (int s = 0; s < options_.iterations; ++s) Y = X + 0.5 * alpha * W.matmul(X + Y);
    }
    momentum_[i] = W.matmul(Y);
    write_back(p, Y);
  }
}

std::map<std::string, torch::Tensor> CayleySGD::state() const {
  std::map<std::string, torch::Tensor> s;
  for (size_t i = 0; i < momentum_.size(); ++i)
    if (momentum_[i].defined()) s[key("momentum", i)] = momentum_[i];
  return s;
}

void CayleySGD::load_state(const std::map<std::string, torch::Tensor>& s) {
  for (size_t i = 0; i < momentum_.size(); ++i) {
    auto it = s.find(key("momentum", i));
    momentum_[i] = it == s.end() ? torch::Tensor() : it->second.to(params_[i].device(), torch::kFloat64);
  }
}

RiemannianAdam::RiemannianAdam(std::vector<torch::Tensor> params, double lr, AdamOptions options,
                               std::vector<torch::Tensor> euclidean, double euclidean_lr_ratio)
    : StiefelOptimizer(std::move(params), lr), options_(options), on_manifold_(params_.size()),
      euclidean_lr_ratio_(euclidean_lr_ratio) {
  params_.insert(params_.end(), euclidean.begin(), euclidean.end());
  m_.resize(params_.size());
  v_.resize(params_.size());
}

void RiemannianAdam::step() {
  ++steps_;
  const double bc1 = 1.0 - std::pow(options_.beta1, double(steps_)), bc2 = 1.0 - std::pow(options_.beta2, double(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    const bool manifold = i < on_manifold_;
    auto X = f64(p);
    auto g = manifold ? tangent(X, f64(p.grad())) : f64(p.grad());
    if (!m_[i].defined()) m_[i] = torch::zeros_like(X), v_[i] = torch::zeros_like(X);
    m_[i] = options_.beta1 * m_[i] + (1 - options_.beta1) * g;
    v_[i] = options_.beta2 * v_[i] + (1 - options_.beta2) * g * g;
    auto direction = m_[i] / (v_[i].sqrt() + options_.eps);
    const double lr = manifold ? lr_ : lr_ * euclidean_lr_ratio_;
    auto Y = X - lr * std::sqrt(bc2) / bc1 * direction;
    if (manifold) {
      Y = qf(Y);
      m_[i] = tangent(Y, m_[i]);
    }
    write_back(p, Y);
  }
}

std::map<std::string, torch::Tensor> RiemannianAdam::state() const {
  std::map<std::string, torch::Tensor> s = {{"steps", torch::tensor(steps_)}};
  for (size_t i = 0; i < m_.size(); ++i)
    if (m_[i].defined()) s[key("m", i)] = m_[i], s[key("v", i)] = v_[i];
  return s;
}

void RiemannianAdam::load_state(const std::map<std::string, torch::Tensor>& s) {
  auto it = s.find("steps");
  steps_ = it == s.end() ? 0 : it->second.item<int64_t>();
  for (size_t i = 0; i < m_.size(); ++i) {
    auto m = s.find(key("m", i)), v = s.find(key("v", i));
    m_[i] = m == s.end() ? torch::Tensor() : m->second.to(params_[i].device(), torch::kFloat64);
    v_[i] = v == s.end() ? torch::Tensor() : v->second.to(params_[i].device(), torch::kFloat64);
  }
}

}  // namespace qlab
