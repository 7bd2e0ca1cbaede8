// qlab: post-training quantization experiments on LLaMA-family models.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "core/allocator.h"
#include "core/error.h"
#include "core/log.h"
#include "tools/qlab/command.h"

namespace qlab::cli {
std::map<std::string, Command>& commands() {
  static std::map<std::string, Command> all;
  return all;
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) items.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return items;
}
}  // namespace qlab::cli

static void print_usage(std::ostream& os) {
  os << "usage: qlab <command> [options]   (qlab <command> --help for its options)\n\ncommands:\n";
  for (const auto& [name, c] : qlab::cli::commands()) os << "  " << name << std::string(12 - std::min<size_t>(11, name.size()), ' ') << c.summary << "\n";
}

int main(int argc, char** argv) {
  qlab::keep_freed_memory();
  if (argc < 2) {
    print_usage(std::cerr);
    return qlab::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return qlab::kExitOk;
  }
  if (name == "--version") {
    std::cout << "qlab " << QLAB_VERSION << "\n";
    return qlab::kExitOk;
  }
  auto& all = qlab::cli::commands();
  auto it = all.find(name);
  if (it == all.end()) {
    std::cerr << "qlab: unknown command '" << name << "' (qlab --help lists them)\n";
    return qlab::kExitUsage;
  }
  // One log format for every command; `qlab run` sets its own verbosity and log file.
  qlab::setup_logging(qlab::Verbosity::Normal);
  try {
    return it->second.run(std::vector<std::string>(argv + 2, argv + argc));
  } catch (const qlab::UsageError& e) {
    std::cerr << "qlab " << name << ": " << e.what() << "\n";
    return qlab::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "qlab " << name << ": internal error: " << e.what() << "\n";
    return qlab::kExitRunsFailed;
  }
}
