// `qlab run STUDY [key=value ...]`: expands the study and runs what its results
// files do not hold complete yet, logging to stderr and to <output>.log; with
// --workers N or --gpus, in N worker processes (core/workers.h).
#include <torch/version.h>

#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <tuple>

#include "core/engine/execute.h"
#include "core/error.h"
#include "core/log.h"
#include "core/run_env.h"
#include "core/runner.h"
#include "core/store.h"
#include "core/study.h"
#include "core/workers.h"
#include "tools/qlab/command.h"
#include "tools/qlab/study_command.h"

namespace po = boost::program_options;

namespace qlab::cli {
namespace {

const char* const kHelpTail = R"(
STUDY is a YAML study file; key=value pairs override it (dotted paths, YAML
values, e.g. method.1.gptq.w_bits=3). Runs already complete in any results
file of the study (its output, shard and worker files) are skipped; failed
ones are run again. Runs are assigned to shards by their hash, so a shard
keeps its runs when the YAML is reordered or runs are added. Each run is
locked while it runs (<output>.locks/), so several launches, shards or workers
on one study never run the same run twice; a killed one's run is taken over.
--workers N and --gpus write one file per worker, <stem>.w<i>.h5. Plugins are
also loaded from QLAB_PLUGIN_PATH (colon-separated .so files or folders).

Exit codes: 0 all runs complete, 1 some runs failed, 2 usage error,
130 interrupted (Ctrl-C: stop after the current run; twice: at once).
)";

int run_main(const std::vector<std::string>& args) {
  std::string shard = "0/1", log_file, gpus;
  int workers = 0, worker = -1;
  po::options_description visible("usage: qlab run STUDY [key=value ...] [options]");
  visible.add_options()
      ("help,h", "show this help")
      ("shard", po::value(&shard), "run only shard i of n (runs whose hash % n == i), writing <stem>.shard<i>of<n>.h5")
      ("workers", po::value(&workers), "run in N worker processes on this host (CPU), each writing <stem>.w<i>.h5")
      ("gpus", po::value(&gpus), "one worker per GPU: all, or device indices like 0,1 (CUDA_VISIBLE_DEVICES)")
      ("dry-run", "list the expanded runs and whether each is complete; run nothing")
      ("skip-failed", "do not rerun runs recorded as failed")
      ("verbose,v", "log debug messages")
      ("quiet,q", "log warnings and errors only")
      ("log", po::value(&log_file), "log file (default: <results file>.log, appended)");
  po::options_description hidden;
  hidden.add_options()("worker", po::value(&worker), "internal: this process is worker i of a --workers/--gpus launch");
  StudyCommandLine line;
  if (!line.parse("run", visible, args, kHelpTail, hidden)) return kExitOk;
  const po::variables_map& vm = line.vm;
  if (vm.count("verbose") && vm.count("quiet")) throw UsageError("-v and -q exclude each other");

  RunnerOptions options;
  std::tie(options.shard_index, options.shard_count) = parse_shard(shard);
  options.worker = worker;
  const bool launcher = worker < 0 && (vm.count("workers") || vm.count("gpus"));
  if (vm.count("workers") && vm.count("gpus")) throw UsageError("--workers and --gpus exclude each other");
  if (vm.count("workers") && workers < 1) throw UsageError("--workers: expected a number of workers >= 1, got " + std::to_string(workers));
  std::vector<std::map<std::string, std::string>> worker_env;
  if (launcher && vm.count("gpus")) {
    for (const auto& gpu : parse_gpus(gpus, host_gpu_count())) worker_env.push_back({{"CUDA_VISIBLE_DEVICES", gpu}});
  } else if (launcher) {
    worker_env.resize(static_cast<size_t>(workers));
  }
  // N workers share the host's cores rather than each taking all of them.
  if (!worker_env.empty() && !std::getenv("OMP_NUM_THREADS")) {
    std::string threads = std::to_string(std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN) / static_cast<long>(worker_env.size())));
    for (auto& env : worker_env) env["OMP_NUM_THREADS"] = threads;
  }
  options.dry_run = vm.count("dry-run") > 0;
  options.rerun_failed = vm.count("skip-failed") == 0;
  options.torch_version = TORCH_VERSION;
  options.device = run_device;

  Study study = line.load();
  std::string output = runner_output(study, options);

  Verbosity verbosity = vm.count("verbose") ? Verbosity::Verbose : vm.count("quiet") ? Verbosity::Quiet : Verbosity::Normal;
  if (options.dry_run) {
    setup_logging(verbosity);   // a dry run writes nothing, not even a log
  } else {
    Store(output, /*writable=*/true);   // an unwritable folder fails before the log file is opened there
    setup_logging(verbosity, log_file.empty() ? output + ".log" : log_file);
    check_study_inputs(study);           // missing or too short data: exit 2 before any run
  }
  spdlog::debug("qlab {} (commit {}) on {}, LibTorch {}", qlab_version(), git_commit(), host_name(), TORCH_VERSION);
  if (launcher && !options.dry_run) {
    std::vector<std::string> worker_args = {"run"};
    worker_args.insert(worker_args.end(), args.begin(), args.end());
    return run_workers(worker_args, worker_env);
  }
  return run_study(study, execute_run, options, std::cout).exit_code;
}

}  // namespace

QLAB_COMMAND(run, "run", "run a study's sweep, skipping runs already complete", run_main);

}  // namespace qlab::cli
