// The results store: one HDF5 file per study (layout: results/README.md).
//
//   /                 attributes format = "qlab-results", format_version = 1
//   /runs/<hash>/     attributes (config, status, error, times, versions, ...)
//       metrics/      scalar float64 datasets, e.g. "perplexity.ppl"
//       arrays/       1-D datasets: float64, int64 or variable-length UTF-8 strings
//       timing/       scalar float64 datasets, seconds per stage
//
// A run is committed completely or not at all, even under SIGKILL: each commit
// copies the file to FILE.tmp-<pid> in the same folder, adds the run there,
// fsyncs it and rename()s it over FILE. The price is a copy of the whole file
// per run, negligible next to a run of a language model.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/run_output.h"

namespace qlab {

constexpr int kStoreFormatVersion = 1;

// Everything the store keeps about one run.
struct RunRecord {
  std::string hash;
  std::string study;                          // the study's name
  std::string config;                         // resolved config, YAML text
  std::string inputs;                         // fingerprints of the files it read (JSON, core/fingerprint.h)
  std::map<std::string, std::string> axes;    // sweep axis -> value (JSON attribute "axes")
  int64_t index = -1;                         // position in the study's expanded run list
  uint64_t seed = 0;
  std::string status;                         // "complete" or "failed"
  std::string error;                          // one line, "" when complete
  std::string start_time, end_time;           // ISO 8601 UTC
  std::string qlab_version, git_commit, host, device, torch_version;
  RunOutput output;
};

// Throws std::invalid_argument when a metric, array or timing name cannot be an
// HDF5 dataset name (empty, ".", or containing '/'). The runner calls it before
// committing, so a plugin's bad name fails that run instead of the store.
void check_output_names(const RunOutput& out);

class Store {
 public:
  // Reads the statuses of FILE's runs (none when FILE does not exist yet).
  // Throws UsageError "FILE: not a qlab results file (...)" for anything else
  // than a qlab results file. `writable`: also checks now that FILE's folder
  // can be written (creating it if missing) and removes temporary files left
  // by killed writers, so a study fails before its first run, not after it.
  Store(std::string path, bool writable);

  const std::string& path() const { return path_; }
  // "complete", "failed", or "" when the run is not in the store.
  std::string status(const std::string& hash) const;
  size_t size() const { return status_.size(); }

  // Adds the run atomically, replacing a record with the same hash.
  // Throws UsageError "FILE: cannot write results (...)".
  void commit(const RunRecord& run);

 private:
  std::string path_;
  std::map<std::string, std::string> status_;
};

// What `qlab status` and the runner's skip check need of a run, read without
// its metrics and arrays.
struct RunSummary {
  std::string hash, status, error, end_time;
  double seconds = 0;   // timing "total": the run's compute time
};

// The summaries of FILE's runs, in hash order; none when FILE does not exist.
// Throws UsageError as Store does.
std::vector<RunSummary> read_summaries(const std::string& path);

// Every run in FILE, in hash order. Throws UsageError as Store does, and
// "FILE: no such file" when it is missing.
std::vector<RunRecord> read_runs(const std::string& path);

}  // namespace qlab
