// Validation of plugin parameters against their schema (core/params.h).
//
// Every message names the key and the owner ("'w_bits' for method 'gptq': ...")
// and is located at the offending node: an unknown key (with a suggestion), a
// value of the wrong type, out of range or not among the choices, a missing
// required key. Values come back normalised to their type so that equal
// settings give equal canonical text (and equal run hashes).
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/params.h"
#include "core/yaml_util.h"

namespace qlab {

// `given` is a map key -> value, or null/undefined for "no parameters".
// `what` names the owner in messages ("method 'gptq'", "model"); `anchor` is
// where an error about the map as a whole (a missing key) points.
// Defaults fill keys not given; a key that is neither required nor has a
// default stays absent (Params::has tells).
Params validate_params(const YAML::Node& given, const std::vector<ParamSpec>& specs, const std::string& owner,
                       const std::string& what, const Locator& loc, const YAML::Node& anchor);

// One value checked against its spec and normalised, as validate_params does
// each key's (a sweep's later run checks only the values its axes change).
YAML::Node validate_value(const YAML::Node& value, const ParamSpec& spec, const std::string& what, const Locator& loc);

// Checks a plugin's schema when it registers: names present and unique, every
// default valid for its own spec. Throws UsageError naming `what`.
void check_schema(const std::vector<ParamSpec>& specs, const std::string& what);

// "[2, 8]", ">= 0", "one of a, b" or "" : the constraint of a spec, for messages and `qlab list`.
std::string constraint_text(const ParamSpec& spec);

}  // namespace qlab
