// One lock per run, so that workers, shards and Slurm tasks of one study never
// run the same run at once. A lock is a file `<hash>.lock` in the folder
// `<output>.locks/` beside the study's results, held with flock(2) on an open
// descriptor: the kernel drops it when its holder exits in any way, SIGKILL
// included, so a dead worker's lock is free for the next taker without any
// staleness rule (a pid check would also need the host, and breaks on pid
// reuse). The file holds "pid host start-time" of its holder for `qlab status`.
// flock over NFS is emulated by POSIX locks on Linux (NFSv4): shared results
// folders on a cluster keep the guarantee.
#pragma once
#include <optional>
#include <string>

namespace qlab {

// The folder holding the locks of a study whose results file is `output`.
std::string lock_folder(const std::string& output);

class RunLock {
 public:
  // Takes the lock of run `hash` without waiting; nullopt when another process
  // holds it. Throws UsageError "FOLDER: cannot lock runs (...)" when the
  // folder cannot be created or written.
  static std::optional<RunLock> try_take(const std::string& folder, const std::string& hash);

  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&&) = delete;
  RunLock(const RunLock&) = delete;
  ~RunLock();   // removes the file, then releases the lock

 private:
  RunLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// The holder of run `hash`'s lock ("pid 12 on host since 2024-...Z"), or ""
// when nobody holds it (no file, or a file left by a killed holder).
std::string lock_holder(const std::string& folder, const std::string& hash);

}  // namespace qlab
