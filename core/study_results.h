// A study's results as one: the summaries of its runs across every file of
// the study (core/shards.h), one per run. Where files disagree on a run (a
// failed shard run redone by a worker), a complete record wins over a failed
// one, then the later one.
#pragma once
#include <map>
#include <string>

#include "core/store.h"

namespace qlab {

struct StudyRun {
  RunSummary summary;
  std::string file;   // the file holding the record shown
};

// Hash -> the run's record, over study_files(output). Throws UsageError for a
// file of the study that is not a results file.
std::map<std::string, StudyRun> study_results(const std::string& output);

}  // namespace qlab
