// The registry (duplicates, lookups with suggestions, the evaluator `label`)
// and loading external plugins from files.
#include "core/registry.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/plugin_loader.h"
#include "test_util.h"

namespace qlab {
namespace {

MethodInfo method(const std::string& name) {
  return MethodInfo{name, "a test method", {}, [](const Params&) { return std::unique_ptr<Method>(); }};
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Registry, InstanceIsOneObject) { EXPECT_EQ(&Registry::instance(), &Registry::instance()); }

TEST(Registry, DuplicateNameIsAUsageError) {
  Registry r;
  r.add(method("gptq"));
  EXPECT_EQ(message_of([&] { r.add(method("gptq")); }), "method 'gptq' is already registered");
  // Kinds are separate name spaces.
  EXPECT_NO_THROW(r.add(EvaluatorInfo{"gptq", "", {}, nullptr}));
}

TEST(Registry, LookupSuggests) {
  Registry r;
  EXPECT_EQ(message_of([&] { r.method("rtn"); }), "unknown method 'rtn' (no methods are registered)");
  r.add(method("gptq"));
  r.add(method("quarot"));
  EXPECT_EQ(r.method("gptq").name, "gptq");
  EXPECT_EQ(message_of([&] { r.method("gtpq"); }), "unknown method 'gtpq' (did you mean 'gptq'?)");
  EXPECT_EQ(message_of([&] { r.evaluator("ppl"); }), "unknown evaluator 'ppl' (no evaluators are registered)");
}

TEST(Registry, EvaluatorsGetALabelParameterDefaultingToTheirName) {
  Registry r;
  r.add(EvaluatorInfo{"perplexity", "", {}, nullptr});
  const auto& params = r.evaluator("perplexity").params;
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].name, "label");
  EXPECT_EQ(params[0].type, ParamType::String);
  EXPECT_EQ(YAML::Load(params[0].default_value).as<std::string>(), "perplexity");
}

TEST(Registry, InvalidSchemaRefused) {
  Registry r;
  MethodInfo m = method("bad");
  ParamSpec p;
  p.name = "bits";
  p.type = ParamType::Int;
  p.default_value = "many";
  m.params = {p};
  EXPECT_THROW(r.add(m), UsageError);
  EXPECT_THROW(r.method("bad"), UsageError);  // nothing half-registered
}

TEST(PluginLoader, MissingFile) {
  EXPECT_EQ(message_of([] { load_plugin("/nonexistent/x.so"); }), "plugin /nonexistent/x.so: no such file");
}

TEST(PluginLoader, NotASharedLibrary) {
  std::string f = test::temp_dir("plug") + "/fake.so";
  test::write_file(f, "not an ELF file\n");
  std::string e = message_of([&] { load_plugin(f); });
  EXPECT_EQ(e.rfind("plugin " + f + ": not a loadable shared library", 0), 0u) << e;
}

TEST(PluginLoader, SharedLibraryWithoutEntryPoint) {
  // Any shared library that is not a qlab plugin: the C math library.
  std::string libm;
  for (const char* p : {"/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"})
    if (std::filesystem::exists(p)) libm = p;
  if (libm.empty()) GTEST_SKIP() << "libm.so.6 not found";
  EXPECT_EQ(message_of([&] { load_plugin(libm); }),
            "plugin " + libm + ": no qlab_plugin_entry symbol, not a qlab plugin");
}

TEST(PluginLoader, LoadsTheFixturePluginsOnceOnly) {
  const std::string so = test::test_plugins();
  if (!std::filesystem::exists(so)) GTEST_SKIP() << "fixture plugins not built: " << so;
  if (!Registry::instance().methods().count("test_scale")) load_plugin(so);
  EXPECT_EQ(Registry::instance().method("test_scale").params.at(0).name, "factor");
  EXPECT_EQ(Registry::instance().dataset("test_lines").load(Params("test_lines", YAML::Load("count: 2"))).text,
            "line 0\nline 1\n");
  std::string e = message_of([&] { load_plugin(so); });
  EXPECT_EQ(e, "plugin " + std::string(so) + ": method 'test_scale' is already registered");
}

TEST(PluginLoader, EnvironmentPath) {
  std::string dir = test::temp_dir("plugpath");
  setenv("QLAB_PLUGIN_PATH", (dir + "::").c_str(), 1);  // an empty folder and empty entries: nothing to load
  EXPECT_NO_THROW(load_plugins_from_env());
  test::write_file(dir + "/broken.so", "text");
  test::write_file(dir + "/readme.txt", "ignored: not a .so");
  EXPECT_NE(message_of(load_plugins_from_env).find("plugin " + dir + "/broken.so: not a loadable"), std::string::npos);
  setenv("QLAB_PLUGIN_PATH", "/nonexistent/dir", 1);
  EXPECT_EQ(message_of(load_plugins_from_env), "QLAB_PLUGIN_PATH: /nonexistent/dir: no such file or folder");
  unsetenv("QLAB_PLUGIN_PATH");
}

}  // namespace
}  // namespace qlab
