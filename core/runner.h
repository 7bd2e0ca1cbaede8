// The runner: executes a study's runs one after another, skipping those any
// results file of the study already holds complete (core/shards.h), and
// commits each outcome (complete, or failed with its one-line error) to its
// own results file before starting the next.
//
// Several runners may work on one study at once (workers, shards, Slurm
// tasks, a second `qlab run`): each takes a run's lock (core/run_lock.h)
// before running it, rechecks the study's files under the lock, and skips a
// run another process holds, coming back to it once its own list is done: a
// holder that dies (SIGKILL included) frees the lock, and the run is taken
// over. Runs decided (committed) by another process during this launch are
// not redone, even failed ones.
//
// Ctrl-C (SIGINT) or SIGTERM asks it to stop: the current run is finished and
// recorded if it completes, or dropped unrecorded if it throws after the
// request (cooperative code may throw on interrupt_requested()); then the
// runner stops with exit code 130. A second signal exits at once (130); the
// store's atomic commits make that safe at any instant.
#pragma once
#include <csignal>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>

#include "core/run_output.h"
#include "core/shards.h"
#include "core/study.h"

namespace qlab {

constexpr int kExitInterrupted = 130;   // 128 + SIGINT, what shells report

struct RunnerOptions {
  bool dry_run = false;              // list the runs and their status, run nothing
  size_t shard_index = 0, shard_count = 1;   // runs with shard_of(hash, count) == index
  int worker = -1;                   // >= 0: a worker of a --workers/--gpus launch, writing worker_output(...)
  double lock_poll_seconds = 1.0;    // how often runs locked by others are retried
  bool rerun_failed = true;          // false: failed runs are skipped like complete ones
  std::string torch_version;         // recorded with each run (core is torch-free)
  std::function<std::string(const RunSpec&)> device;   // recorded device; unset -> ""
};

struct RunnerSummary {
  size_t selected = 0;    // runs of this shard
  size_t skipped = 0;     // not executed: already complete (or failed, rerun_failed off)
  size_t elsewhere = 0;   // decided by another process during this launch
  size_t completed = 0;   // executed now and complete
  size_t failed = 0;      // failed runs of this shard in the store at the end
  bool interrupted = false;
  int exit_code = 0;      // kExitOk, kExitRunsFailed or kExitInterrupted
};

using RunFunction = std::function<RunOutput(const RunSpec&)>;

// The file this runner commits to: worker_output(shard_output(study.output, ...), worker).
std::string runner_output(const Study& study, const RunnerOptions& options);

// Runs (or, dry_run, lists on `listing`) the study's runs of the selected shard,
// committing to runner_output(study, options). Logs through spdlog.
RunnerSummary run_study(const Study& study, const RunFunction& run, const RunnerOptions& options,
                        std::ostream& listing);

// True once SIGINT/SIGTERM arrived during run_study: long runs may poll it
// between stages and throw to stop early (the run is then not recorded).
bool interrupt_requested();

// Installs the SIGINT/SIGTERM handlers behind interrupt_requested() for its
// lifetime (run_study holds one; so does qlab train).
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace qlab
