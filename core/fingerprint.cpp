#include "core/fingerprint.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <vector>

#include "core/hash.h"

namespace fs = std::filesystem;

namespace qlab {

namespace {

bool stat_file(const std::string& path, int64_t& size, int64_t& mtime_ns) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  size = st.st_size;
  mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

std::string sha256_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    h.update(buf.data(), size_t(in.gcount()));
  }
  return in.eof() ? h.hex() : "";
}

std::string default_cache_file() {
  std::string dir;
  if (const char* q = std::getenv("QLAB_CACHE_DIR"); q && *q) dir = q;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::string(x) + "/qlab";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/qlab";
  if (dir.empty()) return "";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (access(dir.c_str(), W_OK) != 0) return "";
  return dir + "/fingerprints.txt";
}

// A folder's inputs: its regular top-level files, hidden ones and notes (*.md) left out.
bool is_input_file(const fs::directory_entry& e) {
  std::string name = e.path().filename().string();
  std::error_code ec;
  return e.is_regular_file(ec) && name[0] != '.' && e.path().extension() != ".md";
}

}  // namespace

FingerprintCache::FingerprintCache(std::string file) : file_(std::move(file)) {}

FingerprintCache& FingerprintCache::shared() {
  static FingerprintCache cache(default_cache_file());
  return cache;
}

void FingerprintCache::load() {
  loaded_ = true;
  if (file_.empty()) return;
  std::ifstream in(file_);
  std::string line;
  // Later lines win: a file hashed again after a change is appended.
  while (std::getline(in, line)) {
    std::istringstream l(line);
    Entry e;
    std::string path;
    if (l >> e.sha256 >> e.size >> e.mtime_ns && l.get() == ' ' && std::getline(l, path) && e.sha256.size() == 64)
      entries_[path] = e;
  }
}

std::pair<std::string, int64_t> FingerprintCache::hash(const std::string& path) {
  if (!loaded_) load();
  int64_t size = 0, mtime = 0;
  if (!stat_file(path, size, mtime)) return {"", -1};
  auto it = entries_.find(path);
  if (it != entries_.end() && it->second.size == size && it->second.mtime_ns == mtime) return {it->second.sha256, size};
  // A checkpoint shard takes seconds: say why the study has not started yet.
  if (size >= (int64_t(256) << 20))
    spdlog::info("fingerprinting {} ({} MB; once, then cached by path, size and mtime)", path, size >> 20);
  std::string sha = sha256_of_file(path);
  if (sha.empty()) return {"", -1};
  ++hashed_;
  entries_[path] = Entry{size, mtime, sha};
  if (!file_.empty()) {
    // One short line per append: concurrent studies (shards) interleave whole lines.
    std::ofstream out(file_, std::ios::app);
    out << sha << ' ' << size << ' ' << mtime << ' ' << path << '\n';
  }
  return {sha, size};
}

std::vector<InputFile> fingerprint_input(const std::string& role, const std::string& path, FingerprintCache& cache) {
  const std::string abs = fs::absolute(path).lexically_normal().string();
  std::vector<InputFile> files;
  std::error_code ec;
  if (fs::is_directory(abs, ec)) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(abs, ec))
      if (is_input_file(e)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) files.push_back(InputFile{role, n, abs + "/" + n});
  } else {
    files.push_back(InputFile{role, "", abs});
  }
  for (InputFile& f : files) std::tie(f.sha256, f.size) = cache.hash(f.path);
  return files;
}

std::string inputs_identity(const std::vector<InputFile>& inputs) {
  std::string text;
  for (const InputFile& f : inputs)
    text += f.role + (f.name.empty() ? "" : "/" + f.name) + " " + (f.size < 0 ? "missing" : f.sha256) + "\n";
  return text;
}

std::string inputs_json(const std::vector<InputFile>& inputs) {
  nlohmann::json a = nlohmann::json::array();
  for (const InputFile& f : inputs)
    a.push_back({{"role", f.role}, {"name", f.name}, {"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return a.dump();
}

std::vector<InputFile> parse_inputs_json(const std::string& text) {
  std::vector<InputFile> out;
  if (text.empty()) return out;   // runs stored before inputs were recorded
  nlohmann::json a = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!a.is_array()) return out;
  for (const auto& e : a)
    out.push_back(InputFile{e.value("role", ""), e.value("name", ""), e.value("path", ""), e.value("size", int64_t(-1)),
                            e.value("sha256", "")});
  return out;
}

std::string changed_inputs(const std::vector<InputFile>& stored, FingerprintCache& cache) {
  std::string changed;
  for (const InputFile& f : stored) {
    if (f.size < 0) continue;
    auto [sha, size] = cache.hash(f.path);
    if (size < 0 || sha == f.sha256) continue;
    changed += (changed.empty() ? "" : ", ") + f.role + (f.name.empty() ? "" : "/" + f.name);
  }
  return changed.empty() ? "" : changed + " changed";
}

}  // namespace qlab
