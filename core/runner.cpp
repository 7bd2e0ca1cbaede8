#include "core/runner.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "core/run_env.h"
#include "core/run_lock.h"
#include "core/store.h"
#include "core/study_results.h"

namespace qlab {
namespace {

std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    static const char msg[] = "\nqlab: second interrupt, abandoning the current run\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(kExitInterrupted);
  }
  static const char msg[] = "\nqlab: interrupt: stopping after the current run (again to abandon it)\n";
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
}

// First non-empty line: LibTorch appends a multi-line backtrace to its messages.
std::string one_line(const std::string& text) {
  size_t begin = text.find_first_not_of("\r\n \t");
  if (begin == std::string::npos) return "(no message)";
  size_t end = text.find_first_of("\r\n", begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

bool interrupt_requested() { return g_signal != 0; }

std::string runner_output(const Study& study, const RunnerOptions& options) {
  return worker_output(shard_output(study.output, options.shard_index, options.shard_count), options.worker);
}

StopSignals::StopSignals() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESTART;   // file I/O of a commit in progress carries on
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

RunnerSummary run_study(const Study& study, const RunFunction& run, const RunnerOptions& options,
                        std::ostream& listing) {
  std::string output = runner_output(study, options);
  Store store(output, /*writable=*/!options.dry_run);
  std::string locks = lock_folder(study.output);

  // Runs of this shard, by their position in the expanded list.
  std::vector<size_t> mine;
  for (size_t i = 0; i < study.runs.size(); ++i)
    if (shard_of(study.runs[i].hash, options.shard_count) == options.shard_index) mine.push_back(i);

  // What the study's files held when this launch started: the runs to do are
  // judged against it, and a run whose record changed since was decided by
  // another process during this launch.
  const std::map<std::string, StudyRun> at_start = study_results(study.output);
  auto status_in = [](const std::map<std::string, StudyRun>& results, const std::string& hash) {
    auto it = results.find(hash);
    return it == results.end() ? std::string() : it->second.summary.status;
  };
  auto wanted = [&](const RunSpec& r) {
    std::string s = status_in(at_start, r.hash);
    return !(s == "complete" || (s == "failed" && !options.rerun_failed));
  };
  auto decided_since_start = [&](const std::string& hash) {
    auto now = study_results(study.output);
    auto a = at_start.find(hash);
    auto b = now.find(hash);
    if (b == now.end()) return false;
    return a == at_start.end() || a->second.summary.end_time != b->second.summary.end_time ||
           a->second.file != b->second.file;
  };

  RunnerSummary summary;
  summary.selected = mine.size();
  if (options.dry_run) {
    size_t complete = 0;
    listing << "index  hash              status    axes\n";
    for (size_t i : mine) {
      const RunSpec& r = study.runs[i];
      std::string s = status_in(at_start, r.hash);
      if (s.empty() && !lock_holder(locks, r.hash).empty()) s = "running";
      complete += s == "complete";
      char head[64];
      std::snprintf(head, sizeof head, "%-6zu %-17s %-9s ", i, r.hash.c_str(), s.empty() ? "new" : s.c_str());
      listing << head << format_axes(r.axes) << "\n";
    }
    listing << mine.size() << " runs, " << complete << " complete, " << mine.size() - complete
            << " to run -> " << output << "\n";
    return summary;
  }

  std::vector<size_t> pending;   // positions in `mine`
  for (size_t k = 0; k < mine.size(); ++k) {
    const RunSpec& spec = study.runs[mine[k]];
    if (wanted(spec)) {
      pending.push_back(k);
    } else {
      spdlog::info("skip {} ({})", spec.hash, status_in(at_start, spec.hash));
      ++summary.skipped;
    }
  }
  spdlog::info("study {}: {} runs ({} to run) -> {}", study.name, mine.size(), pending.size(), output);

  StopSignals signals;
  Eta eta(pending.size());
  auto study_start = std::chrono::steady_clock::now();
  // Each pass tries every pending run once; runs another process holds stay
  // pending for the next pass, until they are decided or their lock is free.
  while (!pending.empty() && !interrupt_requested()) {
    std::vector<size_t> held_elsewhere;
    for (size_t k : pending) {
      if (interrupt_requested()) break;
      const RunSpec& spec = study.runs[mine[k]];
      const size_t position = k + 1;   // in this shard's list, for the progress line
      std::optional<RunLock> lock = RunLock::try_take(locks, spec.hash);
      if (!lock) {
        held_elsewhere.push_back(k);
        continue;
      }
      if (decided_since_start(spec.hash)) {
        spdlog::info("skip {} (done by another process meanwhile)", spec.hash);
        ++summary.elsewhere;
        eta.dropped_one();
        continue;
      }
      spdlog::info("{}", progress_line(position, mine.size(), spec.hash, format_axes(spec.axes),
                                       seconds_since(study_start), eta.seconds_left()));
      RunRecord rec;
      rec.hash = spec.hash;
      rec.study = study.name;
      rec.config = spec.config_yaml;
      rec.inputs = inputs_json(spec.inputs);
      rec.axes = spec.axes;
      rec.index = static_cast<int64_t>(mine[k]);
      rec.seed = spec.seed;
      rec.qlab_version = qlab_version();
      rec.git_commit = git_commit();
      rec.host = host_name();
      rec.torch_version = options.torch_version;
      rec.start_time = now_iso8601_utc();
      auto run_start = std::chrono::steady_clock::now();
      try {
        if (options.device) rec.device = options.device(spec);
        rec.output = run(spec);
        check_output_names(rec.output);
        rec.status = "complete";
      } catch (const std::exception& e) {
        rec.status = "failed";
        rec.error = one_line(e.what());
      } catch (...) {
        rec.status = "failed";
        rec.error = "unknown exception";
      }
      double seconds = seconds_since(run_start);
      rec.end_time = now_iso8601_utc();
      if (rec.status == "failed" && interrupt_requested()) {
        spdlog::warn("run {}/{} {} interrupted, not recorded", position, mine.size(), spec.hash);
        break;
      }
      rec.output.timing["total"] = seconds;
      eta.finished_one(seconds);
      store.commit(rec);
      if (rec.status == "complete") {
        ++summary.completed;
        spdlog::info("done {} in {}", spec.hash, format_duration(seconds));
      } else {
        spdlog::error("run {}/{} {} failed: {}", position, mine.size(), spec.hash, rec.error);
      }
    }
    if (!held_elsewhere.empty() && !interrupt_requested()) {
      spdlog::debug("{} runs held by other processes; retrying in {} s", held_elsewhere.size(), options.lock_poll_seconds);
      std::this_thread::sleep_for(std::chrono::duration<double>(options.lock_poll_seconds));
    }
    pending = std::move(held_elsewhere);
  }

  auto at_end = study_results(study.output);
  size_t complete = 0;
  for (size_t i : mine) {
    std::string s = status_in(at_end, study.runs[i].hash);
    summary.failed += s == "failed";
    complete += s == "complete";
  }
  summary.interrupted = interrupt_requested();
  summary.exit_code = summary.interrupted ? kExitInterrupted : summary.failed > 0 ? kExitRunsFailed : kExitOk;
  spdlog::info("{}: {}/{} runs complete ({} now, {} skipped), {} by other runners, {} failed, {} not run, {} -> {}",
               summary.interrupted ? "interrupted" : "finished", complete, mine.size(), summary.completed,
               summary.skipped, summary.elsewhere, summary.failed, mine.size() - complete - summary.failed,
               format_duration(seconds_since(study_start)), output);
  return summary;
}

}  // namespace qlab
