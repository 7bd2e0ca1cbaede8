#include "core/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/registry.h"

namespace fs = std::filesystem;

namespace qlab {

void load_plugin(const std::string& path) {
  std::string what = "plugin " + path;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UsageError(what + ": no such file");
  if (!fs::is_regular_file(path, ec)) throw UsageError(what + ": not a file");
  // RTLD_NOW: an unresolved symbol fails here, not in the middle of a run.
  // RTLD_GLOBAL: the plugin's symbols (type info, templates) unify with the host's.
  void* handle = dlopen(fs::absolute(path).c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    const char* why = dlerror();
    throw UsageError(what + ": not a loadable shared library (" + (why ? why : "unknown reason") + ")");
  }
  auto entry = reinterpret_cast<qlab_plugin_entry_fn>(dlsym(handle, "qlab_plugin_entry"));
  if (!entry) throw UsageError(what + ": no qlab_plugin_entry symbol, not a qlab plugin");
  int result;
  try {
    result = entry(&Registry::instance(), kPluginAbiVersion);
  } catch (const UsageError& e) {
    throw UsageError(what + ": " + e.what());
  }
  if (result != 0)
    throw UsageError("plugin " + path + " was built for qlab plugin ABI " + std::to_string(result) +
                     ", this qlab has " + std::to_string(kPluginAbiVersion));
  // The handle stays open for the life of the process: registered factories point into it.
}

void load_plugins_from_env() {
  const char* env = std::getenv("QLAB_PLUGIN_PATH");
  if (!env) return;
  std::string list = env;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    std::string entry = list.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    std::error_code ec;
    if (!fs::is_directory(entry, ec)) {
      if (!fs::exists(entry, ec)) throw UsageError("QLAB_PLUGIN_PATH: " + entry + ": no such file or folder");
      load_plugin(entry);
      continue;
    }
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(entry, ec))
      if (f.path().extension() == ".so") files.push_back(f.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) load_plugin(f);
  }
}

void load_plugins(const std::vector<std::string>& cli_paths) {
  load_plugins_from_env();
  for (const auto& p : cli_paths) load_plugin(p);
}

}  // namespace qlab
