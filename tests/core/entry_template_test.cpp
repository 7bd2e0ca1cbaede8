// A templated entry filled with values' canonical texts is the entry emitted
// with those values in place: what a sweep's later runs are hashed on when
// their axes are slots (core/study.cpp), so it must be exact.
#include "core/entry_template.h"

#include <gtest/gtest.h>

#include "core/yaml_util.h"

namespace qlab {
namespace {

// What validation makes of values: ints and floats plain, strings tagged "!"
// (double-quoted), and a few untagged strings that cannot stay plain.
std::vector<YAML::Node> values() {
  std::vector<YAML::Node> v;
  for (const char* plain : {"0", "-3", "123456789012", "2.5", "1e+20", ".inf", "-.inf", ".nan", "true", "false"})
    v.push_back(YAML::Node(plain));
  for (const char* s : {"", "a b", "x: y", "it's", "say \"hi\"", "back\\slash", "two\nlines", "tab\there",
                        "- dash", "#hash", "\xc3\xbcnicode", "trailing ", "~", "null", "QLAB"})
    v.push_back(string_node(s));
  for (const char* untagged : {"x: y", "", "~", "[1, 2]", "a # b"}) v.push_back(YAML::Node(untagged));
  return v;
}

TEST(EntryTemplate, FilledIsTheEntryEmittedWithTheValues) {
  const YAML::Node steps = YAML::Load(R"(
- rtn: {w_bits: 4, w_groupsize: 128}
- perplexity: {max_windows: 0, seqlen: 64, label: perplexity}
)");
  const std::vector<std::vector<std::string>> paths = {{"1", "perplexity", "max_windows"}, {"0", "rtn", "w_bits"},
                                                       {"1", "perplexity", "label"}};
  auto t = EntryTemplate::make("evaluators", canonical_entry("evaluators", steps), paths);
  ASSERT_TRUE(t);
  const std::vector<YAML::Node> vs = values();
  for (size_t i = 0; i < vs.size(); ++i) {
    // Three values at once, each at another hole.
    const YAML::Node a = vs[i], b = vs[(i + 7) % vs.size()], c = vs[(i + 13) % vs.size()];
    YAML::Node expected = YAML::Clone(steps);
    expected[1]["perplexity"]["max_windows"] = a;
    expected[0]["rtn"]["w_bits"] = b;
    expected[1]["perplexity"]["label"] = c;
    const std::string ta = canonical_scalar(a), tb = canonical_scalar(b), tc = canonical_scalar(c);
    EXPECT_EQ(t->fill({&ta, &tb, &tc}), canonical_entry("evaluators", expected)) << ta << " " << tb << " " << tc;
  }
}

TEST(EntryTemplate, AScalarEntryIsOneHole) {
  auto t = EntryTemplate::make("seed", canonical_entry("seed", YAML::Node(0)), {{}});
  ASSERT_TRUE(t);
  const std::string seven = canonical_scalar(YAML::Node(7));
  EXPECT_EQ(t->fill({&seven}), "seed: 7");
}

TEST(EntryTemplate, NoneWhereThePathsOrTheTextDoNotFit) {
  const std::string entry = canonical_entry("method", YAML::Load("[{rtn: {w_bits: 4, groups: [1, 2]}}]"));
  EXPECT_TRUE(EntryTemplate::make("method", entry, {{"0", "rtn", "w_bits"}}));
  EXPECT_FALSE(EntryTemplate::make("method", entry, {{"0", "rtn"}}));                  // a map
  EXPECT_FALSE(EntryTemplate::make("method", entry, {{"0", "rtn", "groups"}}));        // a list
  EXPECT_FALSE(EntryTemplate::make("method", entry, {{"1", "rtn", "w_bits"}}));        // no step 1
  EXPECT_FALSE(EntryTemplate::make("method", entry, {{"0", "gptq", "w_bits"}}));       // another plugin
  EXPECT_FALSE(EntryTemplate::make("method", entry, {{"0", "rtn", "w_bits", "x"}}));   // below a scalar
  EXPECT_FALSE(EntryTemplate::make("other", entry, {{"0", "rtn", "w_bits"}}));         // another key
  // Text that is not canonical_entry's.
  EXPECT_FALSE(EntryTemplate::make("method", "method: [{rtn: {w_bits: 4}}]", {{"0", "rtn", "w_bits"}}));
  // A text holding the template's own marker.
  const std::string marked = canonical_entry("tags", YAML::Load("{a: QLABHOLE0X, b: 1}"));
  EXPECT_FALSE(EntryTemplate::make("tags", marked, {{"b"}}));
}

}  // namespace
}  // namespace qlab
