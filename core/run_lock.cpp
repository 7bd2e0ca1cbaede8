#include "core/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/error.h"
#include "core/run_env.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

std::string lock_path(const std::string& folder, const std::string& hash) { return folder + "/" + hash + ".lock"; }

// flock, retried when a signal interrupts it.
int flock_retry(int fd, int op) {
  int rc;
  while ((rc = flock(fd, op)) != 0 && errno == EINTR) {
  }
  return rc;
}

}  // namespace

std::string lock_folder(const std::string& output) { return output + ".locks"; }

std::optional<RunLock> RunLock::try_take(const std::string& folder, const std::string& hash) {
  auto fail = [&](const std::string& what) {
    return UsageError(folder + ": cannot lock runs (" + what + ": " + std::strerror(errno) + ")");
  };
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw UsageError(folder + ": cannot lock runs (" + ec.message() + ")");
  std::string path = lock_path(folder, hash);
  // A releasing holder removes the file while it still holds the lock, so a
  // lock won on a file that is no longer at `path` guards nothing: try again
  // on the file now there.
  for (;;) {
    int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) throw fail("open " + path);
    if (flock_retry(fd, LOCK_EX | LOCK_NB) != 0) {
      int saved = errno;
      close(fd);
      if (saved == EWOULDBLOCK) return std::nullopt;
      errno = saved;
      throw fail("flock " + path);
    }
    struct stat held {}, named {};
    if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      std::string owner = "pid " + std::to_string(getpid()) + " on " + host_name() + " since " + now_iso8601_utc() + "\n";
      if (ftruncate(fd, 0) != 0 || pwrite(fd, owner.data(), owner.size(), 0) != static_cast<ssize_t>(owner.size())) {
        close(fd);
        throw fail("write " + path);
      }
      return RunLock(fd, path);
    }
    close(fd);
  }
}

RunLock::RunLock(RunLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

RunLock::~RunLock() {
  if (fd_ < 0) return;
  unlink(path_.c_str());
  close(fd_);
}

std::string lock_holder(const std::string& folder, const std::string& hash) {
  std::string path = lock_path(folder, hash);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string holder;
  // A shared lock we can get means no exclusive holder: nobody runs it.
  if (flock_retry(fd, LOCK_SH | LOCK_NB) != 0) {
    char buffer[256];
    ssize_t n = pread(fd, buffer, sizeof buffer, 0);
    holder = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    if (holder.empty()) holder = "another process";   // caught between taking and writing
  }
  close(fd);
  return holder;
}

}  // namespace qlab
