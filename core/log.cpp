#include "core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace qlab {

void setup_logging(Verbosity verbosity, const std::string& log_file) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(verbosity == Verbosity::Quiet     ? spdlog::level::warn
                     : verbosity == Verbosity::Verbose ? spdlog::level::debug
                                                       : spdlog::level::info);
  console->set_pattern("[%H:%M:%S] %^%l%$: %v");
  std::vector<spdlog::sink_ptr> sinks{console};
  if (!log_file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, /*truncate=*/false);
      file->set_level(spdlog::level::debug);
      file->set_pattern("%Y-%m-%dT%H:%M:%S.%e pid=%P %l: %v");
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      throw UsageError(log_file + ": cannot open log file (" + e.what() + ")");
    }
  }
  auto logger = std::make_shared<spdlog::logger>("qlab", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  // Every line reaches the file at once: a killed study keeps its log to the end.
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

}  // namespace qlab
