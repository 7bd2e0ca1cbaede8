#include "core/validate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>

#include "core/suggest.h"

namespace qlab {

namespace {

bool is_list(ParamType t) {
  return t == ParamType::IntList || t == ParamType::FloatList || t == ParamType::StringList;
}

ParamType element_type(ParamType t) {
  switch (t) {
    case ParamType::IntList: return ParamType::Int;
    case ParamType::FloatList: return ParamType::Float;
    case ParamType::StringList: return ParamType::String;
    default: return t;
  }
}

// Shortest text that reads back as the same double.
std::string number_text(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, res.ptr);
}

// Floats keep a fractional part in the canonical text so that they read back as floats.
std::string float_text(double d) {
  std::string s = number_text(d);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string got(const YAML::Node& v) {
  if (v.IsScalar()) return "'" + v.Scalar() + "'";
  if (v.IsSequence()) return "a list";
  if (v.IsMap()) return "a map";
  return "nothing";
}

struct Checker {
  const ParamSpec& spec;
  const std::string& what;
  const Locator& loc;

  UsageError fail(const YAML::Node& v, const std::string& message) const {
    return loc.error(v, "'" + spec.name + "' for " + what + ": " + message);
  }

  void check_range(const YAML::Node& v, double x) const {
    bool low = spec.min && !(x >= *spec.min), high = spec.max && !(x <= *spec.max);
    if (low || high) throw fail(v, v.Scalar() + " is out of range " + constraint_text(spec));
  }

  // Strings, and ints with a set of allowed values (bit widths), compare by text.
  void check_choice(const YAML::Node& v, const std::string& s) const {
    if (spec.choices.empty() || std::find(spec.choices.begin(), spec.choices.end(), s) != spec.choices.end()) return;
    std::string hint = element_type(spec.type) == ParamType::String ? did_you_mean(s, spec.choices) : "";
    if (hint.find("did you mean") == std::string::npos) hint = "";
    throw fail(v, got(v) + " is not " + constraint_text(spec) + hint);
  }

  YAML::Node scalar(const YAML::Node& v, ParamType t) const {
    if (!v.IsScalar()) throw fail(v, std::string("expected ") + to_string(t) + ", got " + got(v));
    switch (t) {
      case ParamType::Bool: {
        bool b;
        if (!YAML::convert<bool>::decode(v, b)) throw fail(v, "expected bool (true or false), got " + got(v));
        return YAML::Node(b);
      }
      case ParamType::Int: {
        int64_t i;
        if (!YAML::convert<int64_t>::decode(v, i)) throw fail(v, "expected int, got " + got(v));
        check_range(v, double(i));
        check_choice(v, std::to_string(i));
        return YAML::Node(i);
      }
      case ParamType::Float: {
        double d;
        if (!YAML::convert<double>::decode(v, d)) throw fail(v, "expected float, got " + got(v));
        check_range(v, d);
        return YAML::Node(float_text(d));
      }
      default:
        check_choice(v, v.Scalar());
        return string_node(v.Scalar());
    }
  }

  YAML::Node value(const YAML::Node& v) const {
    if (!is_list(spec.type)) return scalar(v, spec.type);
    if (!v.IsSequence()) throw fail(v, std::string("expected ") + to_string(spec.type) + ", got " + got(v));
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& e : v) out.push_back(scalar(e, element_type(spec.type)));
    return out;
  }
};

// Defaults are parsed once per text: a sweep validates every run's steps, and
// parsing dominated. The parsed nodes are only read (Checker::value builds new
// ones), so no run's nodes join their pool (core/study.cpp says why that matters).
const YAML::Node& parse_default(const ParamSpec& spec, const std::string& what) {
  static std::mutex mutex;
  static std::map<std::string, YAML::Node> parsed;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = parsed.find(spec.default_value);
  if (it != parsed.end()) return it->second;
  try {
    return parsed.emplace(spec.default_value, YAML::Load(spec.default_value)).first->second;
  } catch (const YAML::Exception& e) {
    throw UsageError(what + ": default of '" + spec.name + "' is not valid YAML: " + spec.default_value);
  }
}

}  // namespace

std::string constraint_text(const ParamSpec& spec) {
  if (!spec.choices.empty()) {
    std::string s = "one of ";
    for (size_t i = 0; i < spec.choices.size(); ++i) s += (i ? ", " : "") + spec.choices[i];
    return s;
  }
  if (spec.min && spec.max) return "[" + number_text(*spec.min) + ", " + number_text(*spec.max) + "]";
  if (spec.min) return ">= " + number_text(*spec.min);
  if (spec.max) return "<= " + number_text(*spec.max);
  return "";
}

Params validate_params(const YAML::Node& given, const std::vector<ParamSpec>& specs, const std::string& owner,
                       const std::string& what, const Locator& loc, const YAML::Node& anchor) {
  bool empty = !given.IsDefined() || given.IsNull();
  if (!empty && !given.IsMap())
    throw loc.error(given, "parameters of " + what + " must be a map of key: value, got " + got(given));
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);

  // Entries are inserted, not assigned: `out[key] = v` keeps a second node for
  // each value, and a sweep keeps one Params per run.
  YAML::Node out(YAML::NodeType::Map);
  // Looked up through a const view: yaml-cpp's non-const operator[] inserts.
  auto filled = [&out](const std::string& k) { return static_cast<const YAML::Node&>(out)[k].IsDefined(); };
  if (!empty) {
    for (const auto& kv : given) {
      std::string key = kv.first.Scalar();
      auto it = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == key; });
      if (it == specs.end())
        throw loc.error(kv.first, "unknown key '" + key + "' for " + what + did_you_mean(key, names));
      if (filled(key)) throw loc.error(kv.first, "key '" + key + "' given twice for " + what);
      out.force_insert(key, Checker{*it, what, loc}.value(kv.second));
    }
  }
  for (const auto& s : specs) {
    if (filled(s.name)) continue;
    if (s.required) throw loc.error(anchor, "missing required key '" + s.name + "' for " + what);
    if (!s.default_value.empty()) out.force_insert(s.name, Checker{s, what, loc}.value(parse_default(s, what)));
  }
  return Params(owner, out);
}

YAML::Node validate_value(const YAML::Node& value, const ParamSpec& spec, const std::string& what, const Locator& loc) {
  return Checker{spec, what, loc}.value(value);
}

void check_schema(const std::vector<ParamSpec>& specs, const std::string& what) {
  std::set<std::string> seen;
  Locator loc(what);
  for (const auto& s : specs) {
    if (s.name.empty()) throw UsageError(what + ": a parameter has no name");
    if (!seen.insert(s.name).second) throw UsageError(what + ": parameter '" + s.name + "' declared twice");
    if (!s.default_value.empty()) Checker{s, what + " (its default)", loc}.value(parse_default(s, what));
  }
}

}  // namespace qlab
