// `qlab status STUDY`: where each run of a study stands across all its
// results files (core/study_results.h) and run locks (core/run_lock.h):
//   done     complete in some file of the study
//   failed   recorded as failed (with its one-line error), not complete anywhere
//   running  not complete, and some live process holds its lock
//   missing  none of these: not run yet, or its runner died mid-run
// with the counts and the compute time of the recorded runs (complete and
// failed), as a Markdown table, CSV or JSON.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/study.h"

namespace qlab {

enum class StatusFormat { Markdown, Csv, Json };
StatusFormat parse_status_format(const std::string& text);   // "md", "csv", "json"; else UsageError

struct RunStatus {
  size_t index = 0;       // position in the expanded study
  std::string hash;
  std::string state;      // "done", "failed", "running", "missing"
  std::string axes;       // format_axes of the run
  std::string detail;     // failed: the error; done: its file; running: the lock's holder
  double seconds = 0;     // recorded compute time (done and failed)
};

struct StudyStatus {
  std::vector<RunStatus> runs;
  size_t done = 0, failed = 0, running = 0, missing = 0;
  double compute_seconds = 0;
};

StudyStatus study_status(const Study& study);

// md: the table and a line of counts; csv: the table only; json: an object
// {"runs": [...], "counts": {...}, "compute_seconds": x}.
std::string format_status(const StudyStatus& status, StatusFormat format);

}  // namespace qlab
