// The training loop: a stopped training resumes to exactly the transforms of
// an uninterrupted one; a diverging loss stops with a message; a checkpoint
// of other settings or a corrupt one is refused naming the file.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/learn/stiefel.h"
#include "core/learn/train.h"
#include "core/quant/orthogonal.h"
#include "test_util.h"

namespace qlab {
namespace {

struct Toy {
  torch::Tensor A, B;
  Toy() {
    torch::manual_seed(2);
    A = torch::randn({40, 10}, torch::kFloat64);
    B = A.matmul(random_orthogonal(10, 21));
  }
  StepLoss at(const torch::Tensor& X, int64_t step) const {
    // A different slice of the data each step, as calibration batches are.
    auto rows = A.narrow(0, (step % 4) * 10, 10), target = B.narrow(0, (step % 4) * 10, 10);
    return {(rows.matmul(X) - target).pow(2).mean(), {{"half", 0.5}}};
  }
};

TrainOptions options(const std::string& checkpoint) {
  TrainOptions o;
  o.label = "toy";
  o.steps = 12;
  o.lr = 0.2;
  o.checkpoint_path = checkpoint;
  o.fingerprint = "toy-1";
  o.checkpoint_every = 5;
  o.should_stop = [] { return false; };
  return o;
}

TEST(Train, StoppedTrainingResumesToTheSameTransforms) {
  Toy toy;
  const std::string dir = test::temp_dir("train");
  CayleyOptions co;
  co.momentum = 0.9;

  auto X = random_orthogonal(10, 1).requires_grad_(true);
  CayleySGD opt({X}, 0.2, co);
  TrainResult whole = train(opt, [&](int64_t s) { return toy.at(X, s); }, options(""));

  auto Y = random_orthogonal(10, 1).requires_grad_(true);
  CayleySGD first({Y}, 0.2, co);
  TrainOptions o = options(dir + "/state.safetensors");
  int calls = 0;
  o.should_stop = [&] { return ++calls == 7; };
  EXPECT_THROW(train(first, [&](int64_t s) { return toy.at(Y, s); }, o), TrainingStopped);
  ASSERT_TRUE(std::filesystem::exists(o.checkpoint_path));

  auto Z = random_orthogonal(10, 99).requires_grad_(true);   // overwritten by the resumed state
  CayleySGD second({Z}, 0.2, co);
  o.should_stop = [] { return false; };
  TrainResult resumed = train(second, [&](int64_t s) { return toy.at(Z, s); }, o);
  EXPECT_EQ(resumed.resumed_at, 7);
  EXPECT_EQ(resumed.steps_run, 5);
  EXPECT_TRUE(torch::equal(Z, X));
  EXPECT_EQ(resumed.losses, whole.losses);
  EXPECT_EQ(resumed.terms.at("half").size(), 12u);
  EXPECT_FALSE(std::filesystem::exists(o.checkpoint_path)) << "a finished training leaves no partial state";
  EXPECT_LT(whole.losses.back(), whole.losses.front());
}

TEST(Train, DivergingLossStopsWithAMessage) {
  auto X = random_orthogonal(4, 1).requires_grad_(true);
  CayleySGD opt({X}, 0.1);
  int64_t calls = 0;
  auto loss = [&](int64_t) {
    ++calls;
    auto l = X.sum() * 0 + (calls < 3 ? 1.0 : std::nan(""));
    return StepLoss{l, {}};
  };
  try {
    train(opt, loss, options(""));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("toy: loss became nan at step 3/12"), std::string::npos) << e.what();
  }
  auto exploding = [&](int64_t s) { return StepLoss{X.sum() * 0 + std::pow(10.0, double(s)), {}}; };
  EXPECT_THROW(train(opt, exploding, options("")), std::runtime_error);
}

TEST(Train, CheckpointOfOtherSettingsOrCorruptIsRefusedNamingTheFile) {
  Toy toy;
  const std::string dir = test::temp_dir("train_bad");
  auto X = random_orthogonal(10, 1).requires_grad_(true);
  CayleySGD opt({X}, 0.2);
  TrainOptions o = options(dir + "/state.safetensors");
  o.should_stop = [] { return true; };
  EXPECT_THROW(train(opt, [&](int64_t s) { return toy.at(X, s); }, o), TrainingStopped);

  o.fingerprint = "toy-2";
  o.should_stop = [] { return false; };
  try {
    train(opt, [&](int64_t s) { return toy.at(X, s); }, o);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(o.checkpoint_path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("other settings"), std::string::npos) << e.what();
  }

  test::write_file(o.checkpoint_path, "not a safetensors file");
  try {
    train(opt, [&](int64_t s) { return toy.at(X, s); }, o);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(o.checkpoint_path), std::string::npos) << e.what();
  }
}

TEST(Train, CosineScheduleEndsAtZeroAndStartsAtThePeak) {
  TrainOptions o;
  o.lr = 1.5;
  o.steps = 100;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 0), 1.5);
  EXPECT_NEAR(scheduled_lr(o, 50), 0.75, 1e-12);
  EXPECT_NEAR(scheduled_lr(o, 100), 0.0, 1e-12);
  o.schedule = "constant";
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 70), 1.5);
}

}  // namespace
}  // namespace qlab
