// The runner: executes a study's runs one after another, skipping those the
// store already holds complete, and commits each outcome (complete, or failed
// with its one-line error) to the store before starting the next.
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
#include <utility>

#include "core/run_output.h"
#include "core/study.h"

namespace qlab {

constexpr int kExitInterrupted = 130;   // 128 + SIGINT, what shells report

struct RunnerOptions {
  bool dry_run = false;              // list the runs and their status, run nothing
  size_t shard_index = 0, shard_count = 1;   // runs with index % count == index
  bool rerun_failed = true;          // false: failed runs are skipped like complete ones
  std::string torch_version;         // recorded with each run (core is torch-free)
  std::function<std::string(const RunSpec&)> device;   // recorded device; unset -> ""
};

struct RunnerSummary {
  size_t selected = 0;    // runs of this shard
  size_t skipped = 0;     // not executed: already complete (or failed, rerun_failed off)
  size_t completed = 0;   // executed now and complete
  size_t failed = 0;      // failed runs of this shard in the store at the end
  bool interrupted = false;
  int exit_code = 0;      // kExitOk, kExitRunsFailed or kExitInterrupted
};

using RunFunction = std::function<RunOutput(const RunSpec&)>;

// "i/n" with 0 <= i < n; throws UsageError "--shard: ..." otherwise.
std::pair<size_t, size_t> parse_shard(const std::string& text);

// Results file of shard i of n: "<stem>.shard<i>of<n>.h5" beside `output`;
// `output` itself when n == 1.
std::string shard_output(const std::string& output, size_t index, size_t count);

// Runs (or, dry_run, lists on `listing`) the study's runs of the selected shard,
// committing to shard_output(study.output, ...). Logs through spdlog.
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
