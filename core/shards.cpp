#include "core/shards.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <stdexcept>
#include <system_error>

#include "core/error.h"

namespace fs = std::filesystem;

namespace qlab {
namespace {

// `file` with `suffix` inserted before its extension.
std::string with_suffix(const std::string& file, const std::string& suffix) {
  fs::path p(file);
  return (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
}

std::string regex_escape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

}  // namespace

std::pair<size_t, size_t> parse_shard(const std::string& text) {
  size_t i = 0, n = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%zu/%zu%n", &i, &n, &consumed) != 2 || consumed != static_cast<int>(text.size()) ||
      text[0] == '-' || n == 0 || i >= n)
    throw UsageError("--shard: expected i/n with 0 <= i < n, got '" + text + "'");
  return {i, n};
}

size_t shard_of(const std::string& hash, size_t count) {
  // The first 16 hex digits are 8 bytes of SHA-256: uniform, so shards get
  // nearly equal numbers of runs.
  std::string head = hash.substr(0, 16);
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(head, &used, 16);
  } catch (const std::exception&) {
    used = 0;
  }
  if (head.empty() || used != head.size()) throw std::invalid_argument("run hash '" + hash + "' is not hexadecimal");
  return static_cast<size_t>(value % count);
}

std::string shard_output(const std::string& output, size_t index, size_t count) {
  if (count <= 1) return output;
  return with_suffix(output, ".shard" + std::to_string(index) + "of" + std::to_string(count));
}

std::string worker_output(const std::string& file, int worker) {
  return worker < 0 ? file : with_suffix(file, ".w" + std::to_string(worker));
}

std::vector<std::string> study_files(const std::string& output) {
  fs::path p(output);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::regex name(regex_escape(p.stem().string()) + R"((\.shard[0-9]+of[0-9]+)?(\.w[0-9]+)?)" +
                  regex_escape(p.extension().string()));
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (entry.is_regular_file(ec) && std::regex_match(file, name)) files.push_back((p.parent_path() / file).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace qlab
