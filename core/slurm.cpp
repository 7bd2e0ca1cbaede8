#include "core/slurm.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

// A word for bash, in single quotes.
std::string shell_word(const std::string& word) {
  std::string q = "'";
  for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The executable `name` in PATH, or "".
std::string in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
  }
  return "";
}

struct Captured {
  int exit_code = -1;
  std::string text;   // stdout and stderr
};

Captured capture(const std::string& command_line) {
  Captured c;
  FILE* p = popen((command_line + " 2>&1").c_str(), "r");
  if (!p) return c;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) c.text.append(buffer, n);
  int status = pclose(p);
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return c;
}

std::string first_line(std::string text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  text = text.substr(begin);
  return text.substr(0, text.find_first_of("\r\n"));
}

}  // namespace

std::string sbatch_path(const std::string& output) {
  fs::path p(output);
  return (p.parent_path() / (p.stem().string() + ".sbatch")).string();
}

std::string sbatch_script(const SlurmJob& job, const SlurmOptions& options) {
  if (options.array_size == 0) throw UsageError("--array-size: expected a number of tasks >= 1");
  fs::path results(job.output);
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# Written by `qlab slurm`: task i of the array runs shard i/" << options.array_size << " of the study.\n"
    << "# Runs finished by any task are skipped, so a requeued or resubmitted task resumes.\n"
    << "#SBATCH --job-name=" << "qlab-" << job.name << "\n"
    << "#SBATCH --array=0-" << options.array_size - 1 << "\n"
    << "#SBATCH --chdir=" << job.workdir << "\n"
    << "#SBATCH --output=" << (results.parent_path() / (results.stem().string() + ".slurm-%A_%a.out")).string() << "\n"
    << "#SBATCH --ntasks=1\n"
    << "#SBATCH --requeue\n";
  if (!options.partition.empty()) s << "#SBATCH --partition=" << options.partition << "\n";
  if (!options.account.empty()) s << "#SBATCH --account=" << options.account << "\n";
  if (options.gpus_per_task > 0) s << "#SBATCH --gpus-per-task=" << options.gpus_per_task << "\n";
  if (options.cpus_per_task > 0) s << "#SBATCH --cpus-per-task=" << options.cpus_per_task << "\n";
  if (!options.mem.empty()) s << "#SBATCH --mem=" << options.mem << "\n";
  if (!options.time.empty()) s << "#SBATCH --time=" << options.time << "\n";
  for (const auto& line : options.extra_sbatch) {
    if (line.find_first_of("\r\n") != std::string::npos) throw UsageError("--extra-sbatch: a line break in '" + line + "'");
    s << "#SBATCH " << line << "\n";
  }
  s << "set -euo pipefail\n";
  if (!job.plugin_path.empty()) s << "export QLAB_PLUGIN_PATH=" << shell_word(job.plugin_path) << "\n";
  s << "exec " << shell_word(job.qlab) << " run " << shell_word(job.study);
  for (const auto& o : job.overrides) s << " " << shell_word(o);
  for (const auto& p : job.plugins) s << " --plugin " << shell_word(p);
  s << " --shard \"${SLURM_ARRAY_TASK_ID}/" << options.array_size << "\"\n";
  return s.str();
}

std::string submit_sbatch(const std::string& script) {
  std::string sbatch = in_path("sbatch");
  if (sbatch.empty()) throw UsageError("--submit: sbatch not found in PATH (is Slurm's client installed?); nothing submitted");
  std::string scontrol = in_path("scontrol");
  if (scontrol.empty()) throw UsageError("--submit: scontrol not found in PATH, cannot reach the controller; nothing submitted");
  // `scontrol ping` waits for the controller's timeout when it is down;
  // `timeout` bounds that wait on a misconfigured host.
  Captured ping = capture("timeout 30 " + shell_word(scontrol) + " ping");
  if (ping.text.find(" is UP") == std::string::npos)
    throw UsageError("--submit: the Slurm controller does not answer (scontrol ping: " +
                     (first_line(ping.text).empty() ? "no output" : first_line(ping.text)) + "); nothing submitted");
  Captured sub = capture(shell_word(sbatch) + " --parsable " + shell_word(script));
  // The id is the last line; warnings may come before it.
  std::string id = sub.text;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  id = id.substr(id.find_last_of('\n') == std::string::npos ? 0 : id.find_last_of('\n') + 1);
  if (sub.exit_code != 0 || id.empty() || id.find_first_not_of("0123456789;") != std::string::npos)
    throw UsageError("--submit: sbatch refused " + script + " (" +
                     (first_line(sub.text).empty() ? "no output" : first_line(sub.text)) + "); nothing submitted");
  return id.substr(0, id.find(';'));   // "id;cluster" on multi-cluster set-ups
}

}  // namespace qlab
