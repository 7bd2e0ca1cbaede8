// Loading external plugins: shared libraries that export `qlab_plugin_entry`
// (core/registry.h) and register their methods, evaluators and data sets.
//
// A plugin does not link qlab's libraries: it resolves the registry's symbols
// from the qlab executable, which exports them (ENABLE_EXPORTS).
#pragma once
#include <string>
#include <vector>

namespace qlab {

// dlopen()s one plugin and calls its entry point. UsageError "plugin PATH: ..."
// when the file is missing, is not a shared library, has no entry point, was
// built for another plugin ABI, or registers a name that is already taken.
void load_plugin(const std::string& path);

// Loads every plugin named by QLAB_PLUGIN_PATH: colon-separated entries, each a
// .so file or a folder whose *.so files are loaded in name order.
void load_plugins_from_env();

// What each command does with its repeatable `--plugin PATH` option: the
// plugins of QLAB_PLUGIN_PATH first, then those of the command line.
void load_plugins(const std::vector<std::string>& cli_paths);

}  // namespace qlab
