#include <unistd.h>
#include <fcntl.h>
#include "test_util.h"

#include <ftw.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/allocator.h"

namespace fs = std::filesystem;

namespace qlab::test {

// The test binaries' main is GoogleTest's: the heap is set up as qlab's own
// main does it (core/allocator.h) before any test runs.
static const bool kHeapKeepsFreedMemory = (keep_freed_memory(), true);

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

// Defaults compiled in by tests/CMakeLists.txt (the environment may override
// them): ctest's ENVIRONMENT property cannot carry several variables through
// gtest_discover_tests in CMake 3.25.
std::string shared_data() {
  std::string d = env_or("QLAB_SHARED_DATA", QLAB_TEST_SHARED_DATA);
  return (!d.empty() && fs::is_directory(d)) ? d : "";
}
std::string fixtures() { return env_or("QLAB_FIXTURES", QLAB_TEST_FIXTURES); }
std::string source_dir() { return env_or("QLAB_SOURCE_DIR", QLAB_TEST_SOURCE_DIR); }
std::string qlab_bin() { return env_or("QLAB_BIN", QLAB_TEST_BIN); }
std::string bench_bin() { return env_or("QLAB_BENCH_BIN", QLAB_TEST_BENCH_BIN); }
std::string test_plugins() { return env_or("QLAB_TEST_PLUGINS", QLAB_TEST_PLUGINS_FILE); }

namespace {
// nftw rather than std::filesystem::remove_all: the GPU machine's LibTorch
// wheel exports its own std::filesystem symbols, and remove_all resolved there
// crashes at exit.
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

struct TempDirs {
  std::vector<fs::path> dirs;
  ~TempDirs() {
    if (std::getenv("QLAB_KEEP_TEMP")) return;
    for (auto& d : dirs) nftw(d.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
};
TempDirs& temp_dirs() {
  static TempDirs t;
  return t;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  std::string pattern = (fs::temp_directory_path() / ("qlab-" + tag + "-XXXXXX")).string();
  char* made = mkdtemp(pattern.data());
  if (!made) throw std::runtime_error("mkdtemp failed for " + pattern);
  temp_dirs().dirs.emplace_back(made);
  return made;
}

static std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CommandResult run_shell(const std::string& command_line) {
  std::string dir = temp_dir("cmd");
  std::string out = dir + "/out", err = dir + "/err";
  int status = std::system((command_line + " >" + quote(out) + " 2>" + quote(err)).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

CommandResult run_qlab(const std::vector<std::string>& args, const std::string& workdir) {
  std::string line;
  if (!workdir.empty()) line += "cd " + quote(workdir) + " && ";
  line += quote(qlab_bin());
  for (const auto& a : args) line += " " + quote(a);
  return run_shell(line);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << text;
}

int start_qlab(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {qlab_bin()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fd);
  return pid;
}

int wait_exit(int pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace qlab::test
