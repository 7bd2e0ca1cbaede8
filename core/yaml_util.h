// YAML helpers for studies: reading a file with located errors, telling where
// a node came from, and the canonical text that run hashes are computed on.
#pragma once
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace qlab {

// Parses a YAML file. Missing file or bad syntax -> UsageError "file:line:col: ...".
YAML::Node load_yaml_file(const std::string& path);

// Turns nodes into "file:line:column" for messages. Nodes parsed from the file
// carry their position (yaml-cpp's Mark, 0-based; printed 1-based). Nodes made
// later (command-line overrides, keys added by a sweep) have none, so their
// origin is noted explicitly.
class Locator {
 public:
  explicit Locator(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  // Records where a node without a position came from, e.g. "study.yaml: override 'seed=x'".
  void note(const YAML::Node& node, const std::string& origin);
  std::string where(const YAML::Node& node) const;
  UsageError error(const YAML::Node& node, const std::string& message) const {
    return UsageError(where(node) + ": " + message);
  }

 private:
  std::string file_;
  std::vector<std::pair<YAML::Node, std::string>> notes_;
};

// Canonical YAML of a resolved config: block style, map keys sorted, strings
// (scalars tagged "!", i.e. quoted) double-quoted, everything else plain. Equal
// configs give equal text whatever the key order of the file they came from.
std::string canonical_yaml(const YAML::Node& node);

// The same text a piece at a time: a block map's entries are emitted each on
// its own, so canonical_map of {key -> canonical_entry(key, value)} is
// canonical_yaml of the map, and a sweep's runs can share the text of the
// entries they do not vary (core/study.cpp).
std::string canonical_entry(const std::string& key, const YAML::Node& value);
// The entry of a list of steps, each {name: params}: canonical_entry of that
// list, without building it (the list would keep every step's nodes alive).
std::string canonical_steps_entry(const std::string& key, const std::vector<std::pair<std::string, YAML::Node>>& steps);
std::string canonical_map(const std::map<std::string, std::string>& entries);
// The text a scalar has inside canonical text (quoted if tagged "!"): a block
// entry writes a scalar the same wherever it stands (core/entry_template.h).
std::string canonical_scalar(const YAML::Node& scalar);

// One-line text of a value: the scalar itself, or flow YAML for collections.
std::string flow_text(const YAML::Node& node);

// A string scalar that stays a string when the canonical text is read back.
YAML::Node string_node(const std::string& s);

}  // namespace qlab
