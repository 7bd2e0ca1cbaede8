#include "core/entry_template.h"

#include <algorithm>
#include <utility>

#include "core/yaml_util.h"

namespace qlab {

namespace {

// The node at path[i...] below `node`, or an undefined one. Reached through
// const views (yaml-cpp's non-const operator[] inserts); nodes are copied,
// never assigned (its operator= writes through to the node referred to).
YAML::Node at_path(const YAML::Node& node, const std::vector<std::string>& path, size_t i = 0) {
  if (i == path.size()) return node;
  const std::string& part = path[i];
  if (node.IsMap()) {
    const YAML::Node next = node[part];
    return next.IsDefined() ? at_path(next, path, i + 1) : YAML::Node(YAML::NodeType::Undefined);
  }
  bool index = node.IsSequence() && !part.empty() && part.size() < 9 &&
               part.find_first_not_of("0123456789") == std::string::npos && std::stoul(part) < node.size();
  return index ? at_path(node[std::stoul(part)], path, i + 1) : YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

std::optional<EntryTemplate> EntryTemplate::make(const std::string& key, const std::string& entry,
                                                 const std::vector<std::vector<std::string>>& paths) {
  // A plain scalar that stands for hole i in the text; the entry must not hold one already.
  const std::string mark = "QLABHOLE";
  auto marker = [&](size_t i) { return mark + std::to_string(i) + "X"; };
  if (entry.find(mark) != std::string::npos) return std::nullopt;
  YAML::Node parsed;
  try {
    parsed = YAML::Load(entry);
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  if (!parsed.IsMap() || parsed.size() != 1) return std::nullopt;
  const YAML::Node value = at_path(parsed, {key});
  if (!value.IsDefined() || canonical_entry(key, value) != entry) return std::nullopt;

  std::vector<std::string> own;   // each hole's scalar as the entry writes it
  for (size_t i = 0; i < paths.size(); ++i) {
    YAML::Node leaf = at_path(value, paths[i]);
    if (!leaf.IsScalar()) return std::nullopt;
    own.push_back(canonical_scalar(leaf));
    leaf = marker(i);   // writes through: the marker takes the scalar's place in `value`
    leaf.SetTag("?");   // plain, like any untagged scalar
  }
  const std::string marked = canonical_entry(key, value);

  std::vector<std::pair<size_t, size_t>> found;   // (offset in `marked`, hole)
  for (size_t i = 0; i < paths.size(); ++i) {
    size_t at = marked.find(marker(i));
    if (at == std::string::npos || marked.find(marker(i), at + 1) != std::string::npos) return std::nullopt;
    found.emplace_back(at, i);
  }
  std::sort(found.begin(), found.end());
  EntryTemplate t;
  size_t from = 0;
  for (const auto& [at, i] : found) {
    t.pieces_.push_back(marked.substr(from, at - from));
    t.holes_.push_back(i);
    from = at + marker(i).size();
  }
  t.pieces_.push_back(marked.substr(from));

  std::vector<const std::string*> texts;
  for (const std::string& s : own) texts.push_back(&s);
  if (t.fill(texts) != entry) return std::nullopt;
  return t;
}

std::string EntryTemplate::fill(const std::vector<const std::string*>& texts) const {
  std::string out = pieces_[0];
  for (size_t k = 0; k < holes_.size(); ++k) out.append(*texts[holes_[k]]).append(pieces_[k + 1]);
  return out;
}

}  // namespace qlab
