#include "core/quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace qlab {

void HessianAccumulator::add(const torch::Tensor& inputs) {
  if (inputs.dim() == 0 || inputs.size(-1) != columns_)
    throw UsageError("gptq: calibration inputs have last dimension " +
                     std::to_string(inputs.dim() ? inputs.size(-1) : 0) + ", the layer takes " +
                     std::to_string(columns_));
  torch::Tensor x = inputs.detach().reshape({-1, columns_}).to(torch::kFloat32);
  const int64_t m = x.size(0);
  if (m == 0) return;
  if (!h_.defined()) h_ = torch::zeros({columns_, columns_}, x.options());
  // Running mean of 2 x x^T: rescale the old sum, add the new rows pre-scaled.
  h_.mul_(static_cast<double>(samples_) / static_cast<double>(samples_ + m));
  samples_ += m;
  x = x * std::sqrt(2.0 / static_cast<double>(samples_));
  h_.addmm_(x.t(), x);
}

const torch::Tensor& HessianAccumulator::hessian() const {
  if (!h_.defined()) throw UsageError("gptq: no calibration inputs were seen for this layer");
  return h_;
}

GptqResult gptq_quantize(const torch::Tensor& weight, const torch::Tensor& hessian,
                         const QuantConfig& cfg, const GptqOptions& options) {
  if (weight.dim() != 2) throw UsageError("gptq: weight must be a matrix [out, in]");
  const int64_t rows = weight.size(0), cols = weight.size(1);
  if (hessian.dim() != 2 || hessian.size(0) != cols || hessian.size(1) != cols)
    throw UsageError("gptq: Hessian must be [" + std::to_string(cols) + ", " +
                     std::to_string(cols) + "]");
  if (cfg.enabled() && cfg.granularity != Granularity::PerChannel &&
      cfg.granularity != Granularity::PerGroup)
    throw UsageError(std::string("gptq: weights are quantized per_channel or per_group, not ") +
                     to_string(cfg.granularity));
  cfg.validate_width(cols, "gptq");
  if (options.blocksize < 1) throw UsageError("gptq: blocksize must be >= 1");
  if (!(options.percdamp >= 0.0)) throw UsageError("gptq: percdamp must be >= 0");
  torch::Tensor W = weight.detach().to(torch::kFloat32).clone();
  if (!cfg.enabled()) return {W, 0.0};
  torch::Tensor H = hessian.detach().to(W.device(), torch::kFloat32).clone();
  const int64_t g = cfg.granularity == Granularity::PerGroup ? cfg.groupsize : 0;

  QuantGrid grid;
  if (g == 0) grid = find_grid(W, cfg);        // per row, once (before dead columns, as the reference)

  // Inputs that are always zero carry no information: fix H_ii = 1, W_:i = 0.
  const torch::Tensor dead = H.diagonal() == 0;
  H.diagonal().masked_fill_(dead, 1.0);
  W.masked_fill_(dead.unsqueeze(0), 0.0);

  std::vector<QuantGrid> static_grids;
  if (g > 0 && options.static_groups)
    for (int64_t c = 0; c < cols; c += g)
      static_grids.push_back(find_grid(W.narrow(1, c, g), cfg));

  torch::Tensor perm;
  std::vector<int64_t> original_column(cols);
  for (int64_t c = 0; c < cols; ++c) original_column[c] = c;
  if (options.act_order) {
    perm = std::get<1>(torch::sort(H.diagonal(), /*stable=*/true, /*dim=*/0, /*descending=*/true));
    W = W.index_select(1, perm);
    H = H.index_select(0, perm).index_select(1, perm);
    torch::Tensor perm_cpu = perm.to(torch::kCPU);
    std::copy(perm_cpu.data_ptr<int64_t>(), perm_cpu.data_ptr<int64_t>() + cols, original_column.begin());
  }

  H.diagonal().add_(options.percdamp * H.diagonal().mean());
  auto [L, info] = at::linalg_cholesky_ex(H);
  if (info.item<int64_t>() != 0)
    throw UsageError("gptq: the Hessian is not positive definite after damping with percdamp " +
                     std::to_string(options.percdamp) + " (raise percdamp)");
  // U: upper Cholesky factor of H^-1. Row c of U, divided by U_cc, is the OBS
  // update direction for column c given that columns < c are already fixed.
  auto [U, info_inv] = at::linalg_cholesky_ex(at::cholesky_inverse(L), /*upper=*/true);
  if (info_inv.item<int64_t>() != 0)
    throw UsageError("gptq: the inverse Hessian is numerically singular (raise percdamp)");

  // The column loop launches few kernels per column and never waits for the
  // device: views (narrow) instead of indexing, every result written in place
  // into a view of Q, Err1 or a reused buffer, the loss summed once per block.
  torch::Tensor Q = torch::empty_like(W);
  torch::Tensor loss = torch::zeros({}, W.options());
  const torch::Tensor product = torch::empty({rows * std::min(options.blocksize, cols)}, W.options());
  for (int64_t i1 = 0; i1 < cols; i1 += options.blocksize) {
    const int64_t i2 = std::min(i1 + options.blocksize, cols), count = i2 - i1;
    torch::Tensor W1 = W.narrow(1, i1, count).clone();
    const torch::Tensor Q1 = Q.narrow(1, i1, count);
    const torch::Tensor Err1 = torch::zeros_like(W1);
    const torch::Tensor U1 = U.narrow(0, i1, count).narrow(1, i1, count);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t col = i1 + i;
      if (g > 0 && options.static_groups) {
        grid = static_grids[original_column[col] / g];
      } else if (g > 0 && col % g == 0) {
        // The group's columns as they are now: inside the block W1 is up to
        // date; beyond it W still lacks this block's pending update, which is
        // Err1 (zero from column i on) times U's rows of the block.
        torch::Tensor current = W1.narrow(1, i, std::min(g, count - i));
        if (col + g > i2)
          current = torch::cat({current, W.narrow(1, i2, col + g - i2) -
                                             Err1.matmul(U.narrow(0, i1, count).narrow(1, i2, col + g - i2))}, 1);
        grid = find_grid(current, cfg);
      }
      // Columns as [rows, 1] views, so that the grid's [rows, 1] broadcasts.
      const torch::Tensor w = W1.narrow(1, i, 1);
      torch::Tensor q = Q1.narrow(1, i, 1);
      fake_quantize_on_grid_out(q, w, grid);
      torch::Tensor err = Err1.narrow(1, i, 1);
      at::sub_out(err, w, q).div_(U1.select(0, i).select(0, i));
      // Column i itself is done (its value is q); only the later ones move.
      if (const int64_t rest = count - i - 1; rest > 0) {
        torch::Tensor step = product.narrow(0, 0, rows * rest).view({rows, rest});
        at::mm_out(step, err, U1.select(0, i).narrow(0, i + 1, rest).unsqueeze(0));
        W1.narrow(1, i + 1, rest).sub_(step);
      }
    }
    loss.add_(Err1.square().sum(), 0.5);
    // Lazy batch update: the block's errors reach the later columns at once.
    if (i2 < cols) W.narrow(1, i2, cols - i2).sub_(Err1.matmul(U.narrow(0, i1, count).narrow(1, i2, cols - i2)));
  }
  if (options.act_order) Q = Q.index_select(1, torch::argsort(perm));
  return {Q, loss.item<double>()};
}

}  // namespace qlab
