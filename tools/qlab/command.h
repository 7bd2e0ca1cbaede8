// Subcommands of the `qlab` executable. Each lives in its own cmd_<name>.cpp
// and registers itself, so main.cpp needs no list of them.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace qlab::cli {

struct Command {
  std::string name;
  std::string summary;   // one line for `qlab --help`
  // Receives the arguments after the subcommand name; returns an exit code
  // (core/error.h). UsageError thrown from here prints as one line, exit 2.
  std::function<int(const std::vector<std::string>& args)> run;
};

std::map<std::string, Command>& commands();

// "a,b,,c" -> {a, b, c}: the comma-separated lists of the options (--rows, --group-by, --method).
std::vector<std::string> comma_list(const std::string& text);

struct CommandRegistrar {
  explicit CommandRegistrar(Command c) { commands()[c.name] = std::move(c); }
};

}  // namespace qlab::cli

#define QLAB_COMMAND(ident, ...) static ::qlab::cli::CommandRegistrar qlab_command_##ident{::qlab::cli::Command{__VA_ARGS__}}
