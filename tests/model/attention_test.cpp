// attention (core/model/attention.h) with grouped kv heads on LibTorch's
// fused kernel: read in place (enable_gqa, LibTorch >= 2.5) it must give what
// the kv heads copied out to every query head give. Skipped without a CUDA
// device: Debian's LibTorch 1.13 has no fused kernel.
#include <gtest/gtest.h>
#include "core/tensor.h"

#include "core/model/attention.h"

namespace qlab {
namespace {

TEST(FusedAttention, GroupedKvHeadsAsTheExpandedHeads) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(9);
  const torch::Device cuda(torch::kCUDA);
  const int64_t B = 2, H = 8, KV = 2, T = 33, D = 128;
  for (auto dtype : {torch::kBFloat16, torch::kFloat32}) {
    // [B, T, heads, D] memory seen as [B, heads, T, D], as the forward makes them.
    auto q = torch::randn({B, T, H, D}, cuda).to(dtype).transpose(1, 2);
    auto k = torch::randn({B, T, KV, D}, cuda).to(dtype).transpose(1, 2);
    auto v = torch::randn({B, T, KV, D}, cuda).to(dtype).transpose(1, 2);
    auto padding = torch::ones({B, 1, T, T}, torch::TensorOptions().dtype(torch::kBool).device(cuda)).tril();
    padding.narrow(0, 0, 1).narrow(3, 0, 4).fill_(false);   // row 0's first keys hidden
    padding.narrow(0, 0, 1).narrow(2, 0, 4).narrow(3, 0, 4).diagonal(0, 2, 3).fill_(true);
    for (const torch::Tensor& mask : {torch::Tensor(), padding}) {
      auto want = attention(q, k.repeat_interleave(H / KV, 1), v.repeat_interleave(H / KV, 1), mask, true);
      auto got = attention(q, k, v, mask, true);
      ASSERT_EQ(got.sizes(), want.sizes());
      // One kernel may serve both (then bit for bit); another backend for
      // the expanded heads sums in another order.
      const double tol = dtype == torch::kBFloat16 ? 1.0 / 64 : 1e-5;
      EXPECT_TRUE(torch::allclose(got, want, tol, tol)) << dtype << (mask.defined() ? " masked" : " causal");
    }
  }
}

}  // namespace
}  // namespace qlab
