// The out-of-tree example plugin (examples/weight_clip): configured with
// find_package(qlab CONFIG) against this build folder, built, loaded with
// --plugin by `qlab quantize`, and its checkpoint compared with clipping
// computed here from the input checkpoint.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/model/checkpoint.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

// One test (each test runs in its own process): build once, check everything.
TEST(WeightClipPlugin, BuiltOutOfTreeClipsEachRowToKStd) {
  std::string src = test::source_dir(), build = test::temp_dir("weight-clip"), qlab_dir = fs::path(test::qlab_bin()).parent_path();
  auto b = test::run_shell("cmake -S '" + src + "/examples/weight_clip' -B '" + build + "' -Dqlab_DIR='" + qlab_dir +
                           "' -DCMAKE_BUILD_TYPE=Release && cmake --build '" + build + "'");
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  std::string plugin = build + "/libweight_clip.so", model = test::fixtures() + "/golden/llama2", out = build + "/clipped";

  const double k = 1.5;
  auto r = test::run_qlab({"quantize", model, "--method", "weight_clip", "--set", "weight_clip.k=" + std::to_string(k), "--out", out,
                           "--plugin", plugin});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  Checkpoint before = Checkpoint::open(model), after = Checkpoint::open(out);
  int64_t changed = 0, linears = 0;
  for (const std::string& name : before.names()) {
    // The seven linears of each layer: model.layers.N.{self_attn,mlp}.X_proj.weight.
    bool linear = name.rfind("model.layers.", 0) == 0 && name.size() > 12 &&
                  name.compare(name.size() - 12, 12, "_proj.weight") == 0;
    if (!linear) continue;
    ++linears;
    torch::Tensor w = before.load(name, torch::kFloat64), clipped = after.load(name, torch::kFloat64);
    // Each row's bound: k times its population standard deviation, by hand.
    torch::Tensor centred = w - w.mean(1, true), bound = k * (centred * centred).mean(1, true).sqrt();
    torch::Tensor expected = torch::where(w > bound, bound, torch::where(w < -bound, -bound, w));
    EXPECT_LT((clipped - expected).abs().max().item<double>(), 1e-6) << name;
    // Where a row held values past its bound, its largest |w| is now the bound.
    torch::Tensor over = (w.abs() > bound).any(1, true);
    EXPECT_LT(((clipped.abs().amax(1, true) - bound).abs() * over).max().item<double>(), 1e-6) << name;
    changed += (clipped - w).abs().gt(1e-6).sum().item<int64_t>();
  }
  EXPECT_EQ(linears, 7 * before.config().num_layers);
  EXPECT_GT(changed, 0) << "at k = 1.5 some weights lie past their row's bound";
}

}  // namespace
}  // namespace qlab
