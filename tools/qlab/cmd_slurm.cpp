// `qlab slurm STUDY [key=value ...]`: writes an sbatch script for a job array,
// task i running shard i/n of the study (core/slurm.h), and with --submit
// submits it and prints the job id.
#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "core/slurm.h"
#include "tools/qlab/command.h"
#include "tools/qlab/study_command.h"

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace qlab::cli {
namespace {

const char* const kHelpTail = R"(
Writes <results stem>.sbatch beside the study's results file. Task i of the
array runs `qlab run STUDY [key=value ...] --shard i/n`: runs go to shards by
their hash, each task writes <stem>.shard<i>of<n>.h5, and `qlab status STUDY`
and `qlab report` read them as one study. A task that is requeued, cancelled
or fails resumes when run again (resubmit the script): finished runs are
skipped. Slurm logs go to <stem>.slurm-<job>_<task>.out.
--dry-run (the default) prints the script; --submit checks that sbatch exists
and the controller answers (scontrol ping), submits and prints the job id.
)";

std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

int slurm_main(const std::vector<std::string>& args) {
  SlurmOptions options;
  po::options_description visible("usage: qlab slurm STUDY [key=value ...] [options]");
  visible.add_options()
      ("help,h", "show this help")
      ("array-size", po::value(&options.array_size), "tasks in the array = shards (default: one per run)")
      ("partition", po::value(&options.partition), "sbatch --partition")
      ("gpus-per-task", po::value(&options.gpus_per_task), "sbatch --gpus-per-task")
      ("cpus-per-task", po::value(&options.cpus_per_task), "sbatch --cpus-per-task")
      ("mem", po::value(&options.mem), "sbatch --mem, e.g. 64G")
      ("time", po::value(&options.time), "sbatch --time, e.g. 04:00:00")
      ("account", po::value(&options.account), "sbatch --account")
      ("extra-sbatch", po::value(&options.extra_sbatch)->composing(), "a further #SBATCH line, e.g. --qos=high; repeatable")
      ("dry-run", "print the script; submit nothing (the default)")
      ("submit", "submit the script with sbatch and print the job id");
  StudyCommandLine line;
  if (!line.parse("slurm", visible, args, kHelpTail, {}, "load an external plugin (.so), also in every task; repeatable"))
    return kExitOk;
  const po::variables_map& vm = line.vm;
  if (vm.count("dry-run") && vm.count("submit")) throw UsageError("--dry-run and --submit exclude each other");
  if (vm.count("array-size") && options.array_size == 0) throw UsageError("--array-size: expected a number of tasks >= 1");

  Study study = line.load();
  if (!vm.count("array-size")) options.array_size = study.runs.size();

  SlurmJob job;
  job.name = study.name;
  job.qlab = fs::read_symlink("/proc/self/exe").string();
  job.study = absolute(line.study);
  job.overrides = line.overrides;
  for (const auto& p : line.plugins) job.plugins.push_back(absolute(p));
  if (const char* env = std::getenv("QLAB_PLUGIN_PATH")) job.plugin_path = env;
  job.workdir = fs::current_path().string();
  job.output = absolute(study.output);

  std::string script = sbatch_script(job, options);
  std::string path = sbatch_path(job.output);
  try {
    fs::create_directories(fs::path(path).parent_path());
  } catch (const fs::filesystem_error& e) {
    throw UsageError(path + ": cannot write the script (" + e.code().message() + ")");
  }
  {
    std::ofstream out(path);
    out << script;
    if (!out.flush()) throw UsageError(path + ": cannot write the script");
  }
  if (!vm.count("submit")) {
    std::cout << script;
    std::cerr << "qlab slurm: wrote " << path << " (" << study.runs.size() << " runs in " << options.array_size
              << " tasks); submit with: sbatch " << path << "  (or qlab slurm --submit)\n";
    return kExitOk;
  }
  std::string id = submit_sbatch(path);
  std::cout << id << "\n";
  std::cerr << "qlab slurm: submitted " << path << " as job " << id << " (" << options.array_size
            << " tasks); follow it with: qlab status " << line.study << "\n";
  return kExitOk;
}

}  // namespace

QLAB_COMMAND(slurm, "slurm", "an sbatch job array running a study's shards (--submit: submit it)", slurm_main);

}  // namespace qlab::cli
