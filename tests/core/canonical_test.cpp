// The canonical text of a config built a top-level entry at a time (what a
// sweep's runs do, core/study.cpp) is the text of the whole map: run hashes
// must not depend on how the text was put together.
#include <gtest/gtest.h>

#include "core/yaml_util.h"

namespace qlab {
namespace {

// The entries of a map, each emitted alone, joined by canonical_map.
std::string by_entries(const YAML::Node& map) {
  std::map<std::string, std::string> entries;
  for (const auto& kv : map) entries[kv.first.Scalar()] = canonical_entry(kv.first.Scalar(), kv.second);
  return canonical_map(entries);
}

TEST(CanonicalYaml, SmallMapHasTheTextWrittenByHand) {
  YAML::Node m = YAML::Load("{b: 2, a: {y: [1, 2], x: null}}");
  m["c"] = string_node("q");
  const std::string expected = "a:\n  x: ~\n  y:\n    - 1\n    - 2\nb: 2\nc: \"q\"\n";
  EXPECT_EQ(canonical_yaml(m), expected);
  EXPECT_EQ(by_entries(m), expected);
}

TEST(CanonicalYaml, EntriesJoinedAreTheWholeMap) {
  // What a resolved config holds: nested maps, lists of one-key maps (steps),
  // empty maps and lists, quoted strings with spaces, colons and quotes,
  // floats, bools, and keys that sort differently from their file order.
  YAML::Node m = YAML::Load(R"(
tags: {precision: W4, note: "x: y"}
seed: 3
method:
  - quarot: {rotate: true, seed: 0}
  - gptq: {w_bits: 4, w_clip: 0.9, groups: [1, 2, 3]}
evaluators: []
datasets: {}
data_root: ''
model: {path: /a b/c, dtype: float32}
base_model: {path: "it's", offload: false}
)");
  m["tags"]["quoted"] = string_node("a \"b\" c");
  m["model"]["device"] = string_node("");
  m["method"][1]["gptq"]["dataset"] = string_node("wiki");
  EXPECT_EQ(by_entries(m), canonical_yaml(m));
  EXPECT_NE(by_entries(m).find("\"a \\\"b\\\" c\""), std::string::npos) << by_entries(m);
  // A list of steps emitted from its steps is the entry of the list.
  std::vector<std::pair<std::string, YAML::Node>> steps;
  for (const auto& step : m["method"]) steps.emplace_back(step.begin()->first.Scalar(), step.begin()->second);
  EXPECT_EQ(canonical_steps_entry("method", steps), canonical_entry("method", m["method"]));
  EXPECT_EQ(canonical_steps_entry("evaluators", {}), canonical_entry("evaluators", m["evaluators"]));
}

}  // namespace
}  // namespace qlab
