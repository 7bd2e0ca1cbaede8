#include "core/params.h"

#include "core/error.h"

namespace qlab {

const char* to_string(ParamType t) {
  switch (t) {
    case ParamType::Bool: return "bool";
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::String: return "string";
    case ParamType::IntList: return "list of int";
    case ParamType::FloatList: return "list of float";
    case ParamType::StringList: return "list of string";
  }
  return "?";
}

Params& Params::operator=(const Params& other) {
  owner_ = other.owner_;
  values_.reset(other.values_);
  return *this;
}

bool Params::has(const std::string& key) const { return values_.IsMap() && values_[key].IsDefined(); }

YAML::Node Params::at(const std::string& key) const {
  if (!has(key)) throw UsageError(owner_ + ": no parameter '" + key + "'");
  return values_[key];
}

namespace {
// Converts with a message naming the owner and key; the values were validated
// against the schema, so this fails only when a plugin asks for the wrong type.
template <class T>
T convert(const YAML::Node& n, const std::string& owner, const std::string& key, const char* type) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw UsageError(owner + ": parameter '" + key + "' is not a " + type);
  }
}
}  // namespace

bool Params::get_bool(const std::string& key) const { return convert<bool>(at(key), owner_, key, "bool"); }
int64_t Params::get_int(const std::string& key) const { return convert<int64_t>(at(key), owner_, key, "int"); }
double Params::get_float(const std::string& key) const { return convert<double>(at(key), owner_, key, "float"); }
std::string Params::get_string(const std::string& key) const {
  YAML::Node n = at(key);
  if (!n.IsScalar()) throw UsageError(owner_ + ": parameter '" + key + "' is not a string");
  return n.Scalar();
}
std::vector<int64_t> Params::get_int_list(const std::string& key) const {
  return convert<std::vector<int64_t>>(at(key), owner_, key, "list of int");
}
std::vector<double> Params::get_float_list(const std::string& key) const {
  return convert<std::vector<double>>(at(key), owner_, key, "list of float");
}
std::vector<std::string> Params::get_string_list(const std::string& key) const {
  return convert<std::vector<std::string>>(at(key), owner_, key, "list of string");
}

}  // namespace qlab
