// The across-heads transform (the "hadamard_heads" online op, QuaRot's
// Hadamard before o_proj) against the transform written out densely: on the
// flattened row of heads * head_dim entries it is M ⊗ I_head_dim, with M the
// plan's dense matrix, within the rounding bound of a dot product (below).
#include <gtest/gtest.h>
#include "core/tensor.h"

#include <cmath>

#include "core/quant/hadamard.h"
#include "core/quant/online.h"

namespace qlab {
namespace {

TEST(AcrossHeads, IsTheDenseKroneckerTransform) {
  torch::manual_seed(11);
  const int64_t D = 8;
  // Sylvester (4), a Paley construction (12), H_20 ⊗ H_2 (40), the orthogonal fallback (7).
  for (int64_t heads : {4, 12, 40, 7}) {
    const nlohmann::json args = {{"heads", heads}, {"fallback", true}, {"seed", 3}};
    const torch::Tensor M = transform_matrix(plan_hadamard(heads, true, 3));
    const torch::Tensor dense = torch::kron(M, torch::eye(D, torch::kFloat64));   // [heads D, heads D]
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
      const OnlineOp op = make_online_op("hadamard_heads", args, {}, torch::kCPU, dtype, "test");
      const torch::Tensor x = torch::randn({2, 3, heads * D}).to(dtype);
      const torch::Tensor got = op.fn(x);
      ASSERT_EQ(got.sizes(), x.sizes());
      ASSERT_EQ(got.scalar_type(), dtype);
      const torch::Tensor x64 = x.to(torch::kFloat64);
      const torch::Tensor want = x64.matmul(dense.t());
      const torch::Tensor err = (got.to(torch::kFloat64) - want).abs();
      // Sum of |M_ij x_j| per output entry: what the rounding of M and of the
      // result scale with.
      const torch::Tensor terms = x64.abs().matmul(dense.abs().t());
      // A dot product of `heads` terms: heads float32 roundings of the
      // accumulation, plus (bfloat16) one of M's entries and one of the result.
      const double u32 = std::ldexp(1.0, -24), u16 = std::ldexp(1.0, -8);
      const double unit = double(heads + 2) * u32 + (dtype == torch::kBFloat16 ? 2 * u16 : 0.0);
      EXPECT_TRUE((err <= unit * terms + 1e-12).all().item<bool>())
          << heads << " heads, " << dtype << ": error up to " << err.max().item<double>() << ", " << (err / terms).max().item<double>() << " of the terms";
      // Not the identity, nor a transform of each head on its own.
      EXPECT_GT((want - x64).abs().max().item<double>(), 0.1);
    }
  }
}

TEST(AcrossHeads, WeightSideCancelsTheOnlineOp) {
  // o_proj with the weight op baked and the online op on its input is o_proj.
  torch::manual_seed(12);
  const int64_t heads = 12, D = 4;
  Model m;
  m.config.num_heads = heads;
  m.config.head_dim = D;
  m.config.num_layers = 1;
  m.config.intermediate_size = 8;
  m.layers.resize(1);
  Linear& o = m.layers[0].o;
  o.weight = torch::randn({5, heads * D});
  const torch::Tensor x = torch::randn({3, heads * D});
  const torch::Tensor plain = o.forward(x);
  OnlineSpec spec;
  spec.o_hadamard = true;
  attach_online_hadamard_weights(m, spec, "test");
  attach_online_hadamards(m, spec, "test");
  o.bake();
  EXPECT_TRUE(torch::allclose(o.forward(x), plain, 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(torch::linear(x, o.weight), plain, 1e-2, 1e-2));
}

}  // namespace
}  // namespace qlab
