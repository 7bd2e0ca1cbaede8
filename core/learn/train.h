// The loop every learned transform and language model trains with: an
// optimiser (core/learn/optimizer.h: on the orthogonal group, or AdamW), a
// loss the caller computes for
// step i, a learning-rate schedule, progress (step i/N, loss, tokens/s, ETA),
// a stop on NaN or a diverging loss, and a checkpoint of the parameters and the
// optimiser's state, so that a Ctrl-C stops after the current step and the
// next run resumes where it stopped, reaching the same transforms.
#pragma once
#include "core/tensor.h"

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/learn/optimizer.h"

namespace qlab {

struct TrainOptions {
  std::string label = "train";       // names the method in logs and errors
  int64_t steps = 100;
  double lr = 1.0;
  std::string schedule = "cosine";   // cosine (to min_lr) | linear (to 0) | constant
  double min_lr = 0;                 // where cosine ends
  int64_t warmup = 0;                // steps of linear warm-up to lr before the schedule
  int64_t tokens_per_step = 0;       // for tokens/s
  // A loss whose magnitude exceeds divergence_factor times the first step's (or
  // not finite) stops the run.
  double divergence_factor = 100.0;
  // Partial state, written every checkpoint_every steps and when stopped;
  // "" keeps none. A file there whose fingerprint matches is resumed from.
  std::string checkpoint_path;
  std::string fingerprint;           // what the state belongs to (the learning's cache key)
  int64_t checkpoint_every = 10;
  // Asked after every step; true stops the run (default: Ctrl-C / SIGTERM seen).
  std::function<bool()> should_stop;
  // A fixed measure (e.g. the loss on one held batch, no grad), taken before
  // the first step and after the last: whether training helped, free of the
  // noise of comparing different batches.
  std::function<double()> probe;
};

// One step's loss, and named terms to log beside it (e.g. AAQ's pull and push).
struct StepLoss {
  torch::Tensor loss;
  std::map<std::string, double> terms;
};

struct TrainResult {
  std::vector<double> losses;                          // every step, resumed ones included
  std::map<std::string, std::vector<double>> terms;
  int64_t steps_run = 0;                               // in this call
  int64_t resumed_at = 0;                              // the step it started from
  double seconds = 0;
  double probe_before = NAN, probe_after = NAN;        // options.probe (before is at step 0 even when resumed)
};

double scheduled_lr(const TrainOptions& o, int64_t step);

// Runs steps resumed_at .. steps-1 of loss_at(step); backward; optimiser step.
// Throws TrainingStopped when should_stop says so (after saving the state),
// std::runtime_error "<label>: loss became nan at step 12/100 ..." on a
// diverging loss, UsageError naming the checkpoint file when it is corrupt or
// belongs to other parameters.
TrainResult train(Optimizer& optimizer, const std::function<StepLoss(int64_t)>& loss_at,
                  const TrainOptions& options);

struct TrainingStopped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace qlab
