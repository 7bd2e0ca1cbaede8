// Parameter schemas: validation messages, their positions, defaults, getters,
// and the did-you-mean suggestions they use.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/suggest.h"
#include "core/validate.h"

namespace qlab {
namespace {

// "file:line:col" of the first occurrence of needle in text, counted by hand
// (1-based) so it does not depend on yaml-cpp's marks.
std::string position(const std::string& file, const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  int line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

ParamSpec spec(const char* name, ParamType t, const char* def) {
  ParamSpec s;
  s.name = name;
  s.type = t;
  s.default_value = def;
  return s;
}

std::vector<ParamSpec> gptq_like() {
  ParamSpec bits = spec("w_bits", ParamType::Int, "4");
  bits.min = 2, bits.max = 8;
  ParamSpec scheme = spec("scheme", ParamType::String, "sym");
  scheme.choices = {"sym", "asym"};
  ParamSpec name = spec("name", ParamType::String, "");
  name.required = true;
  ParamSpec damp = spec("damp", ParamType::Float, "0.01");
  damp.min = 0;
  return {bits, scheme, name, damp, spec("act_order", ParamType::Bool, "true"),
          spec("ratios", ParamType::FloatList, "[0.5, 1]"), spec("note", ParamType::String, "")};
}

// Validates `text` as the parameters of method 'gptq'; returns the error message ("" if none).
std::string error_of(const std::string& text) {
  Locator loc("s.yaml");
  try {
    validate_params(YAML::Load(text), gptq_like(), "gptq", "method 'gptq'", loc, YAML::Node());
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Params, UnknownKeySuggestsTheClosestAndIsLocated) {
  std::string text = "name: a\nw_bit: 3\n";
  EXPECT_EQ(error_of(text), position("s.yaml", text, "w_bit") +
                                ": unknown key 'w_bit' for method 'gptq' (did you mean 'w_bits'?)");
}

TEST(Params, UnknownKeyFarFromAllListsThem) {
  std::string e = error_of("name: a\nzzzzzzzzzz: 1\n");
  EXPECT_NE(e.find("known: w_bits, scheme, name, damp, act_order, ratios, note"), std::string::npos) << e;
}

TEST(Params, WrongTypeNamesExpectedAndGot) {
  std::string text = "name: a\nw_bits: abc\n";
  EXPECT_EQ(error_of(text), position("s.yaml", text, "abc") + ": 'w_bits' for method 'gptq': expected int, got 'abc'");
  EXPECT_NE(error_of("name: a\nw_bits: 4.5\n").find("expected int, got '4.5'"), std::string::npos);
  EXPECT_NE(error_of("name: a\nact_order: maybe\n").find("expected bool"), std::string::npos);
  EXPECT_NE(error_of("name: a\ndamp: [1]\n").find("expected float, got a list"), std::string::npos);
  EXPECT_NE(error_of("name: a\nratios: 0.5\n").find("expected list of float, got '0.5'"), std::string::npos);
  EXPECT_NE(error_of("name: a\nratios: [0.5, x]\n").find("expected float, got 'x'"), std::string::npos);
  EXPECT_NE(error_of("name: {a: 1}\n").find("expected string, got a map"), std::string::npos);
}

TEST(Params, OutOfRangeSaysTheRange) {
  std::string text = "name: a\nw_bits: 33\n";
  EXPECT_EQ(error_of(text), position("s.yaml", text, "33") + ": 'w_bits' for method 'gptq': 33 is out of range [2, 8]");
  EXPECT_NE(error_of("name: a\nw_bits: 1\n").find("out of range [2, 8]"), std::string::npos);
  EXPECT_EQ(error_of("name: a\nw_bits: 2\n"), "");  // bounds are inclusive
  EXPECT_EQ(error_of("name: a\nw_bits: 8\n"), "");
  EXPECT_NE(error_of("name: a\ndamp: -0.5\n").find("-0.5 is out of range >= 0"), std::string::npos);
}

TEST(Params, BadChoiceListsTheAllowedValues) {
  std::string text = "name: a\nscheme: asymm\n";
  EXPECT_EQ(error_of(text), position("s.yaml", text, "asymm") +
                                ": 'scheme' for method 'gptq': 'asymm' is not one of sym, asym (did you mean 'asym'?)");
}

TEST(Params, MissingRequiredKey) {
  EXPECT_EQ(error_of("w_bits: 3\n"), "s.yaml: missing required key 'name' for method 'gptq'");
}

TEST(Params, NotAMap) {
  EXPECT_NE(error_of("[1, 2]").find("parameters of method 'gptq' must be a map"), std::string::npos);
}

TEST(Params, DefaultsFilledAndGettersTyped) {
  Locator loc("s.yaml");
  Params p = validate_params(YAML::Load("name: n\nw_bits: 3\n"), gptq_like(), "gptq", "method 'gptq'", loc, {});
  EXPECT_EQ(p.owner(), "gptq");
  EXPECT_EQ(p.get_int("w_bits"), 3);
  EXPECT_EQ(p.get_string("scheme"), "sym");
  EXPECT_DOUBLE_EQ(p.get_float("damp"), 0.01);
  EXPECT_TRUE(p.get_bool("act_order"));
  EXPECT_EQ(p.get_float_list("ratios"), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(p.get_string("name"), "n");
  EXPECT_FALSE(p.has("note"));  // no default, not given: absent
  EXPECT_THROW(p.get_string("note"), UsageError);
  EXPECT_THROW(p.get_int("scheme"), UsageError);  // asking for the wrong type
  // Null parameters ("gptq:" with nothing after it) mean all defaults.
  ParamSpec only = spec("k", ParamType::Int, "7");
  Params q = validate_params(YAML::Load("~"), {only}, "x", "method 'x'", loc, {});
  EXPECT_EQ(q.get_int("k"), 7);
}

TEST(Params, ValuesAreNormalisedSoEqualSettingsLookEqual) {
  Locator loc("s.yaml");
  std::vector<ParamSpec> s = {spec("f", ParamType::Float, "1"), spec("i", ParamType::Int, "0"),
                              spec("b", ParamType::Bool, "false"), spec("s", ParamType::String, "''")};
  Params a = validate_params(YAML::Load("f: 0.50\ni: 0x10\nb: yes\ns: 4"), s, "x", "x", loc, {});
  EXPECT_EQ(a.node()["f"].Scalar(), "0.5");
  EXPECT_EQ(a.node()["i"].Scalar(), "16");
  EXPECT_EQ(a.node()["b"].Scalar(), "true");
  EXPECT_EQ(a.node()["s"].Scalar(), "4");
  EXPECT_EQ(a.node()["s"].Tag(), "!");  // a string, even though it looks like a number
  Params d = validate_params(YAML::Node(), s, "x", "x", loc, {});
  EXPECT_EQ(d.node()["f"].Scalar(), "1.0");  // floats keep a fraction so they read back as floats
  EXPECT_EQ(d.get_string("s"), "");
}

TEST(Params, DuplicateKeyIsAnError) {
  EXPECT_NE(error_of("name: a\nw_bits: 3\nw_bits: 4\n").find("key 'w_bits' given twice"), std::string::npos);
}

TEST(Params, SchemaCheckedAtRegistration) {
  EXPECT_NO_THROW(check_schema(gptq_like(), "method 'gptq'"));
  ParamSpec bad = spec("w_bits", ParamType::Int, "four");
  EXPECT_THROW(check_schema({bad}, "method 'm'"), UsageError);
  ParamSpec out_of_range = spec("w_bits", ParamType::Int, "9");
  out_of_range.max = 8;
  EXPECT_THROW(check_schema({out_of_range}, "method 'm'"), UsageError);
  EXPECT_THROW(check_schema({spec("a", ParamType::Int, "1"), spec("a", ParamType::Int, "1")}, "m"), UsageError);
}

TEST(Suggest, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);  // the textbook example
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("gtpq", "gptq"), 1u);       // a swap is one edit
  EXPECT_EQ(edit_distance("w_bit", "w_bits"), 1u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(Suggest, DidYouMean) {
  EXPECT_EQ(did_you_mean("gtpq", {"rtn", "gptq", "quarot"}), " (did you mean 'gptq'?)");
  EXPECT_EQ(did_you_mean("xyzzy", {"rtn", "gptq"}), " (known: rtn, gptq)");
  EXPECT_EQ(did_you_mean("x", {}), "");
}

}  // namespace
}  // namespace qlab
