// Parameter schemas for plugins, and the validated values a plugin receives.
//
// One schema drives three things: validation of studies (with the error a user
// sees for a misspelt key), `qlab list`, and the defaults filled into each
// run's resolved config (which is what gets hashed).
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qlab {

enum class ParamType { Bool, Int, Float, String, IntList, FloatList, StringList };
const char* to_string(ParamType t);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  std::string default_value;          // YAML text; empty with required=true means no default
  std::string doc;                    // one line
  bool required = false;
  std::optional<double> min, max;     // inclusive range for Int/Float (and each list element)
  std::vector<std::string> choices;   // allowed values for String or Int (and each list element), as text
  // A file or folder the plugin reads: a relative one is resolved once, when
  // the study loads, against the study's data_root (core/study.h).
  bool is_path = false;
};

// Values of one plugin step, already validated against its schema and with
// defaults filled in. Getters throw UsageError naming the plugin and key.
class Params {
 public:
  Params() = default;
  Params(std::string owner, YAML::Node values) : owner_(std::move(owner)), values_(std::move(values)) {}
  Params(const Params&) = default;
  // Assignment rebinds to the other values: YAML::Node's own operator= writes
  // through to the node it refers to, which would change every Params sharing it.
  Params& operator=(const Params& other);

  bool has(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::vector<double> get_float_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;

  const YAML::Node& node() const { return values_; }
  const std::string& owner() const { return owner_; }

 private:
  YAML::Node at(const std::string& key) const;
  std::string owner_;
  YAML::Node values_;
};

}  // namespace qlab
