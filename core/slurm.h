// `qlab slurm STUDY`: a Slurm job array whose task i runs `qlab run STUDY
// --shard i/n` (runs split by hash, core/shards.h), with the study's
// overrides, plugins and QLAB_PLUGIN_PATH carried into the script. A
// requeued, cancelled or failed task picks up where it stopped when run
// again: finished runs are skipped, and run locks keep a resubmitted task
// from racing one still running.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace qlab {

// What the array's tasks run.
struct SlurmJob {
  std::string name;                      // the study's name: the job name
  std::string qlab;                      // absolute path of the qlab binary
  std::string study;                     // absolute path of the study file
  std::vector<std::string> overrides;    // key=value, as given
  std::vector<std::string> plugins;      // absolute .so paths (--plugin)
  std::string plugin_path;               // QLAB_PLUGIN_PATH at submission ("" when unset)
  std::string workdir;                   // absolute: where relative paths of the study resolve
  std::string output;                    // the study's results file (absolute)
};

struct SlurmOptions {
  size_t array_size = 0;                 // tasks = shards; >= 1
  std::string partition, mem, time, account;
  int gpus_per_task = 0, cpus_per_task = 0;   // 0: not requested
  std::vector<std::string> extra_sbatch;      // lines after "#SBATCH "
};

// The sbatch script. Throws UsageError for an array size of 0 or an extra
// line holding a line break.
std::string sbatch_script(const SlurmJob& job, const SlurmOptions& options);

// Where the script is written: "<stem>.sbatch" beside the results file.
std::string sbatch_path(const std::string& output);

// Submits SCRIPT with `sbatch --parsable`; returns the job id. Checks first,
// submitting nothing and throwing UsageError with one line saying which:
// sbatch not found in PATH, the controller not answering `scontrol ping`, or
// sbatch refusing the script (its message).
std::string submit_sbatch(const std::string& script);

}  // namespace qlab
