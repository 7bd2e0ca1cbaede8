#include "core/runner.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/progress.h"
#include "core/run_env.h"
#include "core/store.h"

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

std::pair<size_t, size_t> parse_shard(const std::string& text) {
  size_t i = 0, n = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%zu/%zu%n", &i, &n, &consumed) != 2 || consumed != static_cast<int>(text.size()) ||
      text[0] == '-' || n == 0 || i >= n)
    throw UsageError("--shard: expected i/n with 0 <= i < n, got '" + text + "'");
  return {i, n};
}

std::string shard_output(const std::string& output, size_t index, size_t count) {
  if (count <= 1) return output;
  std::filesystem::path p(output);
  std::string name = p.stem().string() + ".shard" + std::to_string(index) + "of" + std::to_string(count) +
                     p.extension().string();
  return (p.parent_path() / name).string();
}

RunnerSummary run_study(const Study& study, const RunFunction& run, const RunnerOptions& options,
                        std::ostream& listing) {
  std::string output = shard_output(study.output, options.shard_index, options.shard_count);
  Store store(output, /*writable=*/!options.dry_run);

  // Runs of this shard, by their position in the expanded list.
  std::vector<size_t> mine;
  for (size_t i = 0; i < study.runs.size(); ++i)
    if (i % options.shard_count == options.shard_index) mine.push_back(i);

  auto wanted = [&](const RunSpec& r) {
    std::string s = store.status(r.hash);
    return !(s == "complete" || (s == "failed" && !options.rerun_failed));
  };

  RunnerSummary summary;
  summary.selected = mine.size();
  if (options.dry_run) {
    size_t complete = 0;
    listing << "index  hash              status    axes\n";
    for (size_t i : mine) {
      const RunSpec& r = study.runs[i];
      std::string s = store.status(r.hash);
      complete += s == "complete";
      char head[64];
      std::snprintf(head, sizeof head, "%-6zu %-17s %-9s ", i, r.hash.c_str(), s.empty() ? "new" : s.c_str());
      listing << head << format_axes(r.axes) << "\n";
    }
    listing << mine.size() << " runs, " << complete << " complete, " << mine.size() - complete
            << " to run -> " << output << "\n";
    return summary;
  }

  size_t to_execute = 0;
  for (size_t i : mine) to_execute += wanted(study.runs[i]);
  spdlog::info("study {}: {} runs ({} to run) -> {}", study.name, mine.size(), to_execute, output);

  StopSignals signals;
  Eta eta(to_execute);
  auto study_start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < mine.size() && !interrupt_requested(); ++k) {
    const RunSpec& spec = study.runs[mine[k]];
    if (!wanted(spec)) {
      spdlog::info("skip {} ({})", spec.hash, store.status(spec.hash));
      ++summary.skipped;
      continue;
    }
    spdlog::info("{}", progress_line(k + 1, mine.size(), spec.hash, format_axes(spec.axes),
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
      spdlog::warn("run {}/{} {} interrupted, not recorded", k + 1, mine.size(), spec.hash);
      break;
    }
    rec.output.timing["total"] = seconds;
    eta.finished_one(seconds);
    store.commit(rec);
    if (rec.status == "complete") {
      ++summary.completed;
      spdlog::info("done {} in {}", spec.hash, format_duration(seconds));
    } else {
      spdlog::error("run {}/{} {} failed: {}", k + 1, mine.size(), spec.hash, rec.error);
    }
  }

  for (size_t i : mine) summary.failed += store.status(study.runs[i].hash) == "failed";
  size_t complete = 0;
  for (size_t i : mine) complete += store.status(study.runs[i].hash) == "complete";
  summary.interrupted = interrupt_requested();
  summary.exit_code = summary.interrupted ? kExitInterrupted : summary.failed > 0 ? kExitRunsFailed : kExitOk;
  spdlog::info("{}: {}/{} runs complete ({} now, {} skipped), {} failed, {} not run, {} -> {}",
               summary.interrupted ? "interrupted" : "finished", complete, mine.size(), summary.completed,
               summary.skipped, summary.failed, mine.size() - complete - summary.failed,
               format_duration(seconds_since(study_start)), output);
  return summary;
}

}  // namespace qlab
