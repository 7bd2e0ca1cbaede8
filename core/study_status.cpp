#include "core/study_status.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"
#include "core/run_lock.h"
#include "core/study_results.h"

namespace qlab {
namespace {

// A CSV field, quoted when it holds a separator, a quote or a line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// A Markdown cell: a '|' would end it.
std::string md_cell(const std::string& text) {
  std::string cell;
  for (char c : text) cell += c == '|' ? std::string("\\|") : std::string(1, c);
  return cell;
}

std::string seconds_text(double seconds) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << seconds;
  return out.str();
}

}  // namespace

StatusFormat parse_status_format(const std::string& text) {
  if (text == "md") return StatusFormat::Markdown;
  if (text == "csv") return StatusFormat::Csv;
  if (text == "json") return StatusFormat::Json;
  throw UsageError("--format: expected md, csv or json, got '" + text + "'");
}

StudyStatus study_status(const Study& study) {
  auto results = study_results(study.output);
  std::string locks = lock_folder(study.output);
  StudyStatus status;
  for (size_t i = 0; i < study.runs.size(); ++i) {
    const RunSpec& spec = study.runs[i];
    RunStatus run;
    run.index = i;
    run.hash = spec.hash;
    run.axes = format_axes(spec.axes);
    auto it = results.find(spec.hash);
    std::string recorded = it == results.end() ? "" : it->second.summary.status;
    if (!recorded.empty()) run.seconds = it->second.summary.seconds;
    std::string holder = recorded == "complete" ? "" : lock_holder(locks, spec.hash);
    if (recorded == "complete") {
      run.state = "done";
      run.detail = it->second.file;
    } else if (!holder.empty()) {
      run.state = "running";
      run.detail = holder;
    } else if (recorded == "failed") {
      run.state = "failed";
      run.detail = it->second.summary.error;
    } else {
      run.state = "missing";
    }
    status.done += run.state == "done";
    status.failed += run.state == "failed";
    status.running += run.state == "running";
    status.missing += run.state == "missing";
    status.compute_seconds += run.seconds;
    status.runs.push_back(std::move(run));
  }
  return status;
}

std::string format_status(const StudyStatus& status, StatusFormat format) {
  std::ostringstream out;
  if (format == StatusFormat::Json) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : status.runs)
      runs.push_back({{"index", r.index}, {"hash", r.hash}, {"status", r.state}, {"axes", r.axes},
                      {"detail", r.detail}, {"seconds", r.seconds}});
    nlohmann::json all = {{"runs", runs},
                          {"counts",
                           {{"runs", status.runs.size()}, {"done", status.done}, {"failed", status.failed},
                            {"running", status.running}, {"missing", status.missing}}},
                          {"compute_seconds", status.compute_seconds}};
    out << all.dump(2) << "\n";
    return out.str();
  }
  if (format == StatusFormat::Csv) {
    out << "index,hash,status,seconds,axes,detail\n";
    for (const auto& r : status.runs)
      out << r.index << "," << r.hash << "," << r.state << "," << seconds_text(r.seconds) << "," << csv_field(r.axes)
          << "," << csv_field(r.detail) << "\n";
    return out.str();
  }
  out << "| index | hash | status | seconds | axes | detail |\n| ---: | --- | --- | ---: | --- | --- |\n";
  for (const auto& r : status.runs)
    out << "| " << r.index << " | " << r.hash << " | " << r.state << " | " << seconds_text(r.seconds) << " | "
        << md_cell(r.axes) << " | " << md_cell(r.detail) << " |\n";
  out << "\n" << status.runs.size() << " runs: " << status.done << " done, " << status.failed << " failed, "
      << status.running << " running, " << status.missing << " missing; compute time "
      << format_duration(status.compute_seconds) << "\n";
  return out.str();
}

}  // namespace qlab
