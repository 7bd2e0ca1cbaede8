#include "core/workers.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/error.h"
#include "core/runner.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

// Children to forward stop signals to; written before the handlers go in.
std::vector<pid_t> g_workers;

extern "C" void forward_signal(int sig) {
  for (pid_t pid : g_workers)
    if (pid > 0) kill(pid, sig);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

size_t host_gpu_count() {
  size_t count = 0;
  if (FILE* p = popen("nvidia-smi -L 2>/dev/null", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, p))
      if (std::strncmp(line, "GPU ", 4) == 0) ++count;
    pclose(p);
  }
  if (count > 0) return count;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    (void)entry;
    ++count;
  }
  return count;
}

std::vector<std::string> parse_gpus(const std::string& text, size_t available) {
  if (available == 0)
    throw UsageError("--gpus " + text +
                     ": this host has no NVIDIA GPU (nvidia-smi -L and /proc/driver/nvidia/gpus list none); "
                     "use --workers N on the CPU");
  std::vector<std::string> gpus;
  if (text == "all") {
    for (size_t i = 0; i < available; ++i) gpus.push_back(std::to_string(i));
    return gpus;
  }
  std::set<size_t> seen;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(begin, end - begin);
    size_t index = 0, used = 0;
    bool digits = !item.empty() && item.find_first_not_of("0123456789") == std::string::npos;
    if (digits) index = std::stoul(item, &used);
    if (!digits || used != item.size())
      throw UsageError("--gpus: expected all or device indices like 0,1, got '" + text + "'");
    if (index >= available)
      throw UsageError("--gpus: GPU " + item + " does not exist (this host has " + std::to_string(available) +
                       ": 0-" + std::to_string(available - 1) + ")");
    if (!seen.insert(index).second) throw UsageError("--gpus: GPU " + item + " named twice");
    gpus.push_back(item);
    begin = end + 1;
  }
  return gpus;
}

int run_workers(const std::vector<std::string>& args, const std::vector<std::map<std::string, std::string>>& env) {
  // Blocked while starting, so a signal cannot arrive with the list half written.
  sigset_t stop, previous;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, &previous);
  pid_t launcher = getpid();
  g_workers.assign(env.size(), -1);
  for (size_t i = 0; i < env.size(); ++i) {
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != launcher) _exit(kExitInterrupted);   // the launcher died before prctl
      sigprocmask(SIG_SETMASK, &previous, nullptr);
      for (const auto& [name, value] : env[i]) setenv(name.c_str(), value.c_str(), 1);
      std::vector<std::string> argv_text = {"qlab"};
      argv_text.insert(argv_text.end(), args.begin(), args.end());
      argv_text.push_back("--worker");
      argv_text.push_back(std::to_string(i));
      std::vector<char*> argv;
      for (auto& a : argv_text) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "qlab run: worker %zu: exec /proc/self/exe: %s\n", i, std::strerror(errno));
      _exit(kExitUsage);
    }
    g_workers[i] = pid;
    std::string vars;
    for (const auto& [name, value] : env[i]) vars += " " + name + "=" + value;
    spdlog::info("worker {}: pid {}{}", i, pid, vars);
  }
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = forward_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigprocmask(SIG_SETMASK, &previous, nullptr);

  bool interrupted = false, usage = false, failed = false;
  for (size_t i = 0; i < g_workers.size(); ++i) {
    int status = 0;
    while (waitpid(g_workers[i], &status, 0) < 0 && errno == EINTR) {
    }
    int code = exit_code_of(status);
    if (WIFSIGNALED(status))
      spdlog::error("worker {} (pid {}) killed by signal {}: its current run is left to the others or the next launch",
                    i, g_workers[i], WTERMSIG(status));
    else
      spdlog::info("worker {} (pid {}) exited with {}", i, g_workers[i], code);
    interrupted |= code == kExitInterrupted;
    usage |= code == kExitUsage;
    failed |= code != kExitOk;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_workers.clear();
  return interrupted ? kExitInterrupted : usage ? kExitUsage : failed ? kExitRunsFailed : kExitOk;
}

}  // namespace qlab
