// Studies: loading, validation messages with positions, overrides, sweep
// expansion, canonical configs and their hashes.
#include "core/study.h"

#include <gtest/gtest.h>

#include <malloc.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "core/registry.h"
#include "test_util.h"

namespace qlab {
namespace {

ParamSpec spec(const char* name, ParamType t, const char* def) {
  ParamSpec s;
  s.name = name;
  s.type = t;
  s.default_value = def;
  return s;
}

// Plugins only this file uses (prefixed st_ so they cannot clash with real ones).
const bool registered = [] {
  ParamSpec bits = spec("w_bits", ParamType::Int, "4");
  bits.min = 2, bits.max = 8;
  Registry& r = Registry::instance();
  r.add(MethodInfo{"st_quant", "", {bits, spec("group_size", ParamType::Int, "128"), spec("sym", ParamType::Bool, "true")},
                   nullptr});
  r.add(MethodInfo{"st_rotate", "", {}, nullptr});
  r.add(MethodInfo{"st_note", "", {spec("note", ParamType::String, "plain"), spec("scale", ParamType::Float, "1.0")},
                   nullptr});
  ParamSpec ds = spec("dataset", ParamType::String, "");
  ds.required = true;
  r.add(EvaluatorInfo{"st_eval", "", {ds, spec("n", ParamType::Int, "1")}, nullptr});
  ParamSpec path = spec("path", ParamType::String, "");
  path.required = true;
  r.add(DatasetInfo{"st_reader", "", {path}, nullptr});
  return true;
}();

// "file:line:col" of the n-th (0-based) occurrence of needle, counted by hand.
std::string position(const std::string& file, const std::string& text, const std::string& needle, int nth = 0) {
  size_t at = text.find(needle);
  for (int i = 0; i < nth && at != std::string::npos; ++i) at = text.find(needle, at + 1);
  EXPECT_NE(at, std::string::npos) << needle;
  int line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') ++line, col = 1;
    else ++col;
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

struct StudyTest : ::testing::Test {
  std::string dir = test::temp_dir("study");
  // Not in `dir`, the model folder: its files are the model's inputs, part of every run's hash.
  std::string file = test::temp_dir("study_file") + "/s.yaml";

  // A valid study; `extra` is appended (top-level keys), `model` is a folder that exists.
  std::string base(const std::string& extra = "") {
    return "name: demo\noutput: " + dir + "/out/r.h5\nmodel:\n  path: " + dir +
           "\ndatasets:\n  wiki: {st_reader: {path: w.txt}}\nmethod:\n  - st_rotate\n  - st_quant: {w_bits: 4}\n"
           "evaluators:\n  - st_eval: {dataset: wiki}\n" +
           extra;
  }
  Study load(const std::string& text, const std::vector<std::string>& overrides = {}) {
    test::write_file(file, text);
    return load_study(file, overrides);
  }
  std::string error(const std::string& text, const std::vector<std::string>& overrides = {}) {
    try {
      load(text, overrides);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

TEST(Hash, Sha256TestVectors) {  // FIPS 180-2 examples
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_F(StudyTest, OneRunWithDefaultsFilled) {
  Study s = load(base());
  EXPECT_EQ(s.name, "demo");
  EXPECT_EQ(s.output, dir + "/out/r.h5");
  ASSERT_EQ(s.runs.size(), 1u);
  const RunSpec& r = s.runs[0];
  const RunSteps steps = r.steps();
  EXPECT_EQ(r.config()["method"][1]["st_quant"]["group_size"].as<int>(), 128);
  EXPECT_EQ(r.config()["model"]["dtype"].as<std::string>(), "float32");
  EXPECT_EQ(r.config()["model"]["device"].as<std::string>(), "cpu");
  EXPECT_FALSE(r.config()["model"]["offload"].as<bool>());
  EXPECT_FALSE(r.config()["sweep"].IsDefined());
  EXPECT_FALSE(r.config()["name"].IsDefined());  // study-level, not part of a run
  EXPECT_EQ(r.config()["seed"].as<int>(), 0);
  EXPECT_EQ(r.seed, 0u);
  ASSERT_EQ(steps.methods.size(), 2u);
  EXPECT_EQ(steps.methods[1].plugin, "st_quant");
  EXPECT_EQ(steps.methods[1].params.owner(), "st_quant");
  EXPECT_TRUE(steps.methods[1].params.get_bool("sym"));
  ASSERT_EQ(steps.evaluators.size(), 1u);
  EXPECT_EQ(steps.evaluators[0].params.get_string("label"), "st_eval");
  EXPECT_EQ(steps.datasets.at("wiki").plugin, "st_reader");
  EXPECT_EQ(steps.datasets.at("wiki").params.get_string("path"), "w.txt");
  EXPECT_EQ(r.axes.at("method"), "st_rotate+st_quant");
  EXPECT_EQ(r.hash, sha256_hex(r.config_yaml + inputs_identity(r.inputs)).substr(0, 16));
}

TEST_F(StudyTest, CanonicalTextHasSortedKeysInBlockStyle) {
  std::string y = load(base()).runs[0].config_yaml;
  std::vector<size_t> at;
  for (const char* k : {"\ndata_root:", "\ndatasets:", "\nevaluators:", "\nmethod:", "\nmodel:", "\nseed:"})
    at.push_back(("\n" + y).find(k));
  for (size_t i = 0; i < at.size(); ++i) ASSERT_NE(at[i], std::string::npos) << i << "\n" << y;
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end())) << y;
  EXPECT_LT(y.find("group_size:"), y.find("sym:"));  // sorted inside params too
  EXPECT_LT(y.find("sym:"), y.find("w_bits:"));
}

// A sweep's later runs resolve only the parts of the config their axes reach
// and share the rest with the first run (core/study.cpp): each must still be
// the run of the study with its values written in, which resolves every part.
TEST_F(StudyTest, EachSweptRunEqualsTheStudyWithItsValuesWrittenIn) {
  Study s = load(base("data_root: " + dir + "\ntags: {p: x}\nsweep:\n  grid: {method.1.st_quant.w_bits: [3, 4], seed: [0, 5]}\n"
                      "  zip: {datasets.wiki.st_reader.path: [a.txt, b.txt], model.dtype: [float32, bfloat16], "
                      "tags.p: [y, z]}\n"));
  ASSERT_EQ(s.runs.size(), 8u);
  std::set<std::string> configs;
  for (const RunSpec& r : s.runs) {
    const RunSteps steps = r.steps();
    const std::string bits = r.axes.at("method.1.st_quant.w_bits"), seed = r.axes.at("seed");
    const std::string path = r.axes.at("datasets.wiki.st_reader.path"), dtype = r.axes.at("model.dtype");
    Study one = load(base("data_root: " + dir + "\ntags: {p: " + r.axes.at("tags.p") + "}\n"),
                     {"method.1.st_quant.w_bits=" + bits, "seed=" + seed, "datasets.wiki.st_reader.path=" + path,
                      "model.dtype=" + dtype});
    ASSERT_EQ(one.runs.size(), 1u);
    EXPECT_EQ(r.config_yaml, one.runs[0].config_yaml);
    EXPECT_EQ(r.hash, one.runs[0].hash);
    EXPECT_EQ(r.seed, std::stoull(seed));
    EXPECT_EQ(steps.methods.at(1).params.get_int("w_bits"), std::stoi(bits));
    EXPECT_EQ(steps.datasets.at("wiki").params.get_string("path"), path);
    EXPECT_EQ(steps.evaluators.at(0).params.get_string("dataset"), "wiki");
    configs.insert(r.config_yaml);
  }
  EXPECT_EQ(configs.size(), 8u);
}

// A sweep whose every axis is one parameter of a step or the seed writes a
// later run's text from the first run's with the values put in, resolving
// nothing (core/study.cpp: SlotTexts); each run must still be the one of the
// study with its values written in, text, hash and steps. The values are
// spelt unlike their canonical text (0x3, 2.50, 1e3) and the strings need quoting.
TEST_F(StudyTest, EachRunOfASweepOfParametersEqualsTheStudyWithItsValuesWrittenIn) {
  const std::vector<std::string> bits = {"0x3", "4", "8"}, seeds = {"0", "12"};
  const std::vector<std::string> notes = {"plain", "\"x: y\"", "'it''s'", "\"two\\nlines\"", "\"\"", "\"true\""};
  const std::vector<std::string> scales = {"2.50", "1e3", "-1", ".inf", "0.1", "7"};
  auto list = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s + "]";
  };
  auto study = [&](const std::string& b, const std::string& note, const std::string& scale, const std::string& extra) {
    std::string t = base(extra);
    t.replace(t.find("{w_bits: 4}"), 11, "{w_bits: " + b + "}\n  - st_note: {note: " + note + ", scale: " + scale + "}");
    return t;
  };
  Study s = load(study("4", "plain", "1.0", "sweep:\n  grid: {method.1.st_quant.w_bits: " + list(bits) +
                                              "}\n  zip: {method.2.st_note.note: " + list(notes) +
                                              ", method.2.st_note.scale: " + list(scales) + "}\n  seeds: " +
                                              list(seeds) + "\n"));
  ASSERT_EQ(s.runs.size(), bits.size() * notes.size() * seeds.size());
  size_t i = 0;
  for (const std::string& b : bits)
    for (size_t z = 0; z < notes.size(); ++z)
      for (const std::string& seed : seeds) {
        const RunSpec& r = s.runs[i++];
        Study one = load(study(b, notes[z], scales[z], "seed: " + seed + "\n"));
        ASSERT_EQ(one.runs.size(), 1u);
        EXPECT_EQ(r.config_yaml, one.runs[0].config_yaml) << b << " " << notes[z] << " " << scales[z] << " " << seed;
        EXPECT_EQ(r.hash, one.runs[0].hash);
        EXPECT_EQ(r.seed, one.runs[0].seed);
        const RunSteps steps = r.steps(), expected = one.runs[0].steps();
        ASSERT_EQ(steps.methods.size(), 3u);
        for (size_t m = 0; m < 3; ++m) EXPECT_EQ(YAML::Dump(steps.methods[m].params.node()), YAML::Dump(expected.methods[m].params.node()));
        EXPECT_EQ(YAML::Dump(steps.evaluators.at(0).params.node()), YAML::Dump(expected.evaluators.at(0).params.node()));
      }
}

// A sweep's runs keep no validated parameters (yaml-cpp trees of about half a
// kilobyte a node): a run holds its text, hash and axes, and its steps are
// resolved when it executes (RunSpec::steps). Counted in bytes allocated, not
// timed: the runs' share of the heap, less what parsing the study keeps.
TEST_F(StudyTest, SweptRunsKeepNoValidatedParameters) {
  const int n = 3000;
  std::string values = "[";
  for (int i = 0; i < n; ++i) values += (i ? ", " : "") + std::to_string(i + 1);
  values += "]";
  const std::string text = base("sweep:\n  grid: {evaluators.0.st_eval.n: " + values + "}\n");
  auto heap = [] { return double(mallinfo2().uordblks); };
  load(base());   // what the first study of a process allocates for good (the fingerprint cache, parsed defaults)
  double before = heap();
  YAML::Node parsed = YAML::Load(text);   // what the study keeps of the file, to rebuild a run's steps
  const double parse = heap() - before;
  before = heap();
  Study s = load(text);
  ASSERT_EQ(s.runs.size(), size_t(n));
  const double per_run = (heap() - before - parse) / n;
  // A run's record: its text (about 300 bytes here), hash, axes, input
  // fingerprints and folders. Keeping its evaluator's parameters (5 nodes)
  // would add more than 2 kB.
  size_t text_bytes = s.runs.back().config_yaml.size();
  EXPECT_LT(per_run, text_bytes + 1500) << per_run << " bytes a run";
  // The steps are still there, resolved when asked for.
  EXPECT_EQ(s.runs.back().steps().evaluators.at(0).params.get_int("n"), n);
}

TEST_F(StudyTest, HashIgnoresKeyOrderAndSpellingOfEqualValues) {
  std::string a = load(base()).runs[0].hash;
  // Same study with keys reordered, defaults written out, and 4 written as 0x4.
  std::string reordered = "evaluators:\n  - st_eval: {n: 1, dataset: wiki}\nmethod:\n  - st_rotate: {}\n"
                          "  - st_quant: {sym: true, w_bits: 0x4, group_size: 128}\n"
                          "datasets:\n  wiki: {st_reader: {path: w.txt}}\nmodel:\n  device: cpu\n  path: " + dir +
                          "\noutput: " + dir + "/elsewhere.h5\nname: other\nseed: 0\n";
  EXPECT_EQ(load(reordered).runs[0].hash, a);
  EXPECT_NE(load(base("seed: 1\n")).runs[0].hash, a);
  EXPECT_NE(load(base(), {"method.1.st_quant.w_bits=3"}).runs[0].hash, a);
}

TEST_F(StudyTest, GridSeedsAndZipExpandToTheProduct) {
  Study s = load(base("base_model: {path: " + dir + "}\nsweep:\n  grid:\n    method.1.st_quant.w_bits: [2, 3]\n"
                      "    evaluators.0.st_eval.n: [1, 2, 3]\n  zip:\n    model.dtype: [float32, bfloat16]\n"
                      "    base_model.dtype: [float16, bfloat16]\n  seeds: [0, 7]\n"));
  ASSERT_EQ(s.runs.size(), 2u * 3u * 2u * 2u);
  std::set<std::string> seen, hashes;
  for (const auto& r : s.runs) {
    std::string bits = r.config()["method"][1]["st_quant"]["w_bits"].Scalar();
    std::string n = r.config()["evaluators"][0]["st_eval"]["n"].Scalar();
    std::string dtype = r.config()["model"]["dtype"].Scalar(), base_dtype = r.config()["base_model"]["dtype"].Scalar();
    EXPECT_EQ(r.axes.at("method.1.st_quant.w_bits"), bits);
    EXPECT_EQ(r.axes.at("evaluators.0.st_eval.n"), n);
    EXPECT_EQ(r.axes.at("model.dtype"), dtype);
    EXPECT_EQ(r.axes.at("seed"), std::to_string(r.seed));
    EXPECT_EQ(r.config()["seed"].as<uint64_t>(), r.seed);
    // zipped axes move together: float32 goes with float16, bfloat16 with bfloat16
    EXPECT_EQ(base_dtype, dtype == "float32" ? "float16" : "bfloat16");
    seen.insert(bits + "/" + n + "/" + dtype + "/" + std::to_string(r.seed));
    hashes.insert(r.hash);
  }
  std::set<std::string> expected;
  for (const char* b : {"2", "3"})
    for (const char* n : {"1", "2", "3"})
      for (const char* d : {"float32", "bfloat16"})
        for (const char* seed : {"0", "7"}) expected.insert(std::string(b) + "/" + n + "/" + d + "/" + seed);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(hashes.size(), s.runs.size());
  // the last axis varies fastest: seeds innermost
  EXPECT_EQ(s.runs[0].seed, 0u);
  EXPECT_EQ(s.runs[1].seed, 7u);
}

TEST_F(StudyTest, SweepCanSetAParameterLeftAtItsDefault) {
  Study s = load(base("sweep:\n  grid: {method.1.st_quant.group_size: [64, 128]}\n"));
  ASSERT_EQ(s.runs.size(), 2u);
  EXPECT_EQ(s.runs[0].steps().methods[1].params.get_int("group_size"), 64);
  EXPECT_EQ(s.runs[1].hash, load(base()).runs[0].hash);  // 128 is the default
}

TEST_F(StudyTest, SweepOverWholePipelines) {
  Study s = load(base("sweep:\n  grid:\n    method: [st_rotate, [st_rotate, {st_quant: {w_bits: 3}}], []]\n"));
  ASSERT_EQ(s.runs.size(), 3u);
  EXPECT_EQ(s.runs[0].axes.at("method"), "st_rotate");
  EXPECT_EQ(s.runs[1].axes.at("method"), "st_rotate+st_quant");
  EXPECT_EQ(s.runs[2].axes.at("method"), "none");
  EXPECT_EQ(s.runs[1].steps().methods[1].params.get_int("w_bits"), 3);
}

// tags: labels carried in the config, zipped with the pipelines they name.
TEST_F(StudyTest, TagsLabelRunsAndZipWithPipelines) {
  Study s = load(base("tags: {precision: W16, paper: quarot}\nsweep:\n  zip:\n    method: [[], [st_rotate, {st_quant: {w_bits: 3}}]]\n"
                      "    tags.precision: [W16, W3]\n"));
  ASSERT_EQ(s.runs.size(), 2u);
  EXPECT_EQ(s.runs[0].config()["tags"]["precision"].Scalar(), "W16");
  EXPECT_EQ(s.runs[1].config()["tags"]["precision"].Scalar(), "W3");
  EXPECT_EQ(s.runs[1].config()["tags"]["paper"].Scalar(), "quarot");
  EXPECT_EQ(s.runs[1].axes.at("tags.precision"), "W3");
  EXPECT_EQ(s.runs[1].axes.at("method"), "st_rotate+st_quant");
  EXPECT_NE(load(base("tags: {precision: W4}\n")).runs[0].hash, load(base()).runs[0].hash);
  EXPECT_EQ(error(base("tags: [a, b]\n")), position(file, base("tags: [a, b]\n"), "[a, b]") +
                                               ": tags must be a map of name -> value (labels for tables)");
  EXPECT_NE(error(base("tags: {precision: [1, 2]}\n")).find("tag 'precision' must be a single value"), std::string::npos);
}

TEST_F(StudyTest, Overrides) {
  Study s = load(base(), {"method.1.st_quant.w_bits=3", "seed=5", "method.1.st_quant.group_size=64",
                          "model.dtype=bfloat16"});
  const RunSpec& r = s.runs[0];
  const RunSteps steps = r.steps();
  EXPECT_EQ(steps.methods[1].params.get_int("w_bits"), 3);
  EXPECT_EQ(steps.methods[1].params.get_int("group_size"), 64);
  EXPECT_EQ(r.seed, 5u);
  EXPECT_EQ(r.config()["model"]["dtype"].Scalar(), "bfloat16");
  Study list = load(base(), {"method=[st_rotate]"});
  EXPECT_EQ(list.runs[0].axes.at("method"), "st_rotate");
}

TEST_F(StudyTest, OverrideErrorsNameTheOverride) {
  EXPECT_EQ(error(base(), {"methd.0.x=1"}), file + ": override 'methd.0.x=1': there is no 'methd'");
  EXPECT_EQ(error(base(), {"method.5.st_quant.w_bits=3"}),
            file + ": override 'method.5.st_quant.w_bits=3': 'method' is a list of 2, '5' is not an index of it");
  EXPECT_EQ(error(base(), {"seed=[1"}).rfind(file + ": override 'seed=[1': malformed YAML value", 0), 0u);
  EXPECT_EQ(error(base(), {"seed"}), file + ": override 'seed': expected key=value");
  EXPECT_EQ(error(base(), {"method.1.st_quant.w_bit=3"}),
            file + ": override 'method.1.st_quant.w_bit=3': unknown key 'w_bit' for method 'st_quant' (did you mean "
                   "'w_bits'?)");
  EXPECT_EQ(error(base(), {"method.1.st_quant.w_bits=abc"}),
            file + ": override 'method.1.st_quant.w_bits=abc': 'w_bits' for method 'st_quant': expected int, got 'abc'");
  EXPECT_EQ(error(base(), {"modl=x"}),
            file + ": override 'modl=x': unknown top-level key 'modl' (did you mean 'model'?)");
}

TEST_F(StudyTest, ErrorsAreLocated) {
  std::string t = base("extra_key: 1\n");
  EXPECT_EQ(error(t), position(file, t, "extra_key") + ": unknown top-level key 'extra_key' (known: name, output, "
                                                       "model, base_model, datasets, method, evaluators, sweep, seed, data_root, tags)");
  t = base("evaluator: []\n");
  EXPECT_EQ(error(t), position(file, t, "evaluator:") + ": unknown top-level key 'evaluator' (did you mean 'evaluators'?)");
  t = base();
  t.replace(t.find("st_quant:"), 8, "st_qaunt");
  EXPECT_EQ(error(t), position(file, t, "st_qaunt") + ": unknown method 'st_qaunt' (did you mean 'st_quant'?)");
  t = base();
  t.replace(t.find("w_bits: 4"), 9, "w_bits: 9");
  EXPECT_EQ(error(t), position(file, t, "9}") + ": 'w_bits' for method 'st_quant': 9 is out of range [2, 8]");
  t = base();
  t.replace(t.find("{dataset: wiki}"), 15, "{dataset: wikki}");
  EXPECT_EQ(error(t), position(file, t, "wikki") + ": data set 'wikki' is not defined under datasets (did you mean 'wiki'?)");
  t = base();
  t.replace(t.find("{dataset: wiki}"), 15, "{n: 2}");
  EXPECT_EQ(error(t), position(file, t, "st_eval") + ": missing required key 'dataset' for evaluator 'st_eval'");
  t = base("seed: 1\nseed: 2\n");
  EXPECT_EQ(error(t), position(file, t, "seed:", 1) + ": top-level key 'seed' given twice");
  t = "name: x\nmethod: [a\n";
  EXPECT_EQ(error(t).rfind(file + ":3:1: malformed YAML", 0), 0u) << error(t);
}

TEST_F(StudyTest, ModelChecks) {
  std::string t = base();
  t.replace(t.find("path: " + dir), 6 + dir.size(), "path: " + dir + "/missing");
  EXPECT_EQ(error(t), position(file, t, "path: " + dir + "/missing") + ": model path '" + dir + "/missing' does not exist");
  EXPECT_NE(error(base(), {"model.dtype=float64"}).find("'float64' is not one of float32, bfloat16, float16"),
            std::string::npos);
  EXPECT_NE(error(base(), {"model.device=gpu"}).find("'gpu' is not cpu, cuda or cuda:N"), std::string::npos);
  EXPECT_EQ(load(base(), {"model.device=cuda:1"}).runs[0].config()["model"]["device"].Scalar(), "cuda:1");
  EXPECT_NE(error(base(), {"model.offload=sometimes"}).find("expected bool"), std::string::npos);
}

TEST_F(StudyTest, OutputResolvedAgainstWorkingDirectoryAndChecked) {
  std::string t = base();
  t.replace(t.find("output: " + dir + "/out/r.h5"), 8 + dir.size() + 9, "output: rel/r.h5");
  EXPECT_EQ(load(t).output, (std::filesystem::current_path() / "rel/r.h5").string());
  test::write_file(dir + "/afile", "x");
  t = base();
  t.replace(t.find(dir + "/out/r.h5"), dir.size() + 9, dir + "/afile/r.h5");
  EXPECT_EQ(error(t), position(file, t, dir + "/afile") + ": output '" + dir + "/afile/r.h5' cannot be created: '" +
                          dir + "/afile' is not a folder");
}

TEST_F(StudyTest, SweepErrors) {
  std::string t = base("sweep:\n  grid: {seed: []}\n");
  EXPECT_EQ(error(t), position(file, t, "seed: []") + ": sweep axis 'seed' has no values (an empty list gives no runs)");
  t = base("sweep:\n  zip: {seed: [1, 2], model.dtype: [float16]}\n");
  EXPECT_EQ(error(t), position(file, t, "model.dtype") +
                          ": zip axis 'model.dtype' has 1 values but 'seed' has 2 (zipped axes vary together and need "
                          "equal lengths)");
  t = base("sweep:\n  grid: {method.1.st_quant.w_bits: [4, 33]}\n");
  EXPECT_EQ(error(t), position(file, t, "33") + ": 'w_bits' for method 'st_quant': 33 is out of range [2, 8]");
  t = base("sweep:\n  grid: {method.1.st_quant.w_bit: [4]}\n");
  EXPECT_EQ(error(t), position(file, t, "method.1.st_quant.w_bit") +
                          ": unknown key 'w_bit' for method 'st_quant' (did you mean 'w_bits'?)");
  t = base("sweep:\n  grid: {methods.1.x: [4]}\n");
  EXPECT_EQ(error(t), position(file, t, "methods.1.x") + ": sweep axis 'methods.1.x': there is no 'methods'");
  t = base("sweep:\n  grids: {}\n");
  EXPECT_EQ(error(t), position(file, t, "grids") + ": unknown key 'grids' in sweep (did you mean 'grid'?)");
  t = base("sweep:\n  grid: {seed: [1, 1]}\n");
  EXPECT_NE(error(t).find("runs 0 and 1 resolve to the same config"), std::string::npos);
  t = base("sweep:\n  grid: {output: [a, b]}\n");
  EXPECT_NE(error(t).find("'output' belongs to the whole study and cannot be swept"), std::string::npos);
}

TEST_F(StudyTest, EvaluatorLabelsMustDiffer) {
  std::string t = base();
  t.replace(t.find("  - st_eval: {dataset: wiki}"), 28,
            "  - st_eval: {dataset: wiki}\n  - st_eval: {dataset: wiki, n: 2}");
  EXPECT_EQ(error(t), position(file, t, "st_eval", 1) +
                          ": evaluators 0 and 1 both have label 'st_eval': give each a distinct `label` so their "
                          "metrics do not collide");
  t.replace(t.find("n: 2}"), 5, "n: 2, label: second}");
  Study s = load(t);
  EXPECT_EQ(s.runs[0].steps().evaluators[1].params.get_string("label"), "second");
}

TEST_F(StudyTest, NameDefaultsToTheFileStem) {
  std::string t = base();
  t.erase(0, t.find('\n') + 1);
  EXPECT_EQ(load(t).name, "s");
}

}  // namespace
}  // namespace qlab
