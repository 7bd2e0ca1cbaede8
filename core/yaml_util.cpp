#include "core/yaml_util.h"

#include <algorithm>
#include <filesystem>

namespace qlab {

YAML::Node load_yaml_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw UsageError(path + ": is a folder, not a YAML file");
  if (!std::filesystem::is_regular_file(path, ec)) throw UsageError(path + ": no such file");
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    throw UsageError(located(path, e.mark.line + 1, e.mark.column + 1, "malformed YAML: " + e.msg));
  } catch (const YAML::BadFile&) {
    throw UsageError(path + ": cannot be read");
  }
}

void Locator::note(const YAML::Node& node, const std::string& origin) { notes_.emplace_back(node, origin); }

std::string Locator::where(const YAML::Node& node) const {
  if (!node.IsDefined()) return file_;
  YAML::Mark m = node.Mark();
  if (!m.is_null()) return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  for (const auto& [n, origin] : notes_)
    if (n.is(node)) return origin;
  return file_;
}

namespace {

void emit(YAML::Emitter& e, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      // Sort positions, not nodes: yaml-cpp's Node::operator= writes through to
      // the node it refers to, so std::sort on nodes would scramble the tree.
      std::vector<YAML::Node> keys, values;
      for (const auto& kv : n) keys.push_back(kv.first), values.push_back(kv.second);
      std::vector<size_t> order(keys.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a].Scalar() < keys[b].Scalar(); });
      e << YAML::BeginMap;
      for (size_t i : order) {
        e << YAML::Key << keys[i].Scalar() << YAML::Value;
        emit(e, values[i]);
      }
      e << YAML::EndMap;
      break;
    }
    case YAML::NodeType::Sequence:
      e << YAML::BeginSeq;
      for (const auto& v : n) emit(e, v);
      e << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!")
        e << YAML::DoubleQuoted << n.Scalar();
      else
        e << n.Scalar();
      break;
    default:
      e << YAML::Null;
  }
}

}  // namespace

std::string canonical_yaml(const YAML::Node& node) {
  YAML::Emitter e;
  e << YAML::Block;
  emit(e, node);
  return std::string(e.c_str()) + "\n";
}

// Emitted straight from the value, not from a map built around it: combining
// nodes merges their pools for good (core/study.cpp), so a map holding `value`
// would stay alive with it.
std::string canonical_entry(const std::string& key, const YAML::Node& value) {
  YAML::Emitter e;
  e << YAML::Block << YAML::BeginMap << YAML::Key << key << YAML::Value;
  emit(e, value);
  e << YAML::EndMap;
  return e.c_str();
}

std::string canonical_steps_entry(const std::string& key, const std::vector<std::pair<std::string, YAML::Node>>& steps) {
  YAML::Emitter e;
  e << YAML::Block << YAML::BeginMap << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& [name, params] : steps) {
    e << YAML::BeginMap << YAML::Key << name << YAML::Value;
    emit(e, params);
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return e.c_str();
}

std::string canonical_map(const std::map<std::string, std::string>& entries) {
  std::string text;
  for (const auto& kv : entries) text += kv.second + "\n";
  return text;
}

std::string canonical_scalar(const YAML::Node& scalar) {
  YAML::Emitter e;
  e << YAML::Block;
  emit(e, scalar);
  return e.c_str();
}

std::string flow_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << node;
  return e.c_str();
}

YAML::Node string_node(const std::string& s) {
  YAML::Node n(s);
  n.SetTag("!");
  return n;
}

}  // namespace qlab
