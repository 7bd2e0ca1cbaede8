#include "core/study_results.h"

#include "core/shards.h"

namespace qlab {
namespace {

bool better(const RunSummary& a, const RunSummary& b) {
  bool a_done = a.status == "complete", b_done = b.status == "complete";
  if (a_done != b_done) return a_done;
  return a.end_time > b.end_time;   // ISO 8601 UTC: text order is time order
}

}  // namespace

std::map<std::string, StudyRun> study_results(const std::string& output) {
  std::map<std::string, StudyRun> runs;
  for (const auto& file : study_files(output))
    for (auto& s : read_summaries(file)) {
      auto it = runs.find(s.hash);
      if (it == runs.end() || better(s, it->second.summary)) runs[s.hash] = StudyRun{s, file};
    }
  return runs;
}

}  // namespace qlab
