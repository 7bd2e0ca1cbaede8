// Studies: one YAML file describing models, a method pipeline, evaluators,
// data sets and sweep axes, expanded into fully resolved runs.
//
// Study file (see experiments/quickstart.yaml and docs/studies.md):
//   name: quickstart
//   output: results/quickstart.h5
//   model: {path: DIR, dtype: float32, device: cpu}       # optional
//   datasets: {wiki: {wikitext2_raw: {path: ...}}}         # name -> {reader: params}
//   method: [{quarot: {}}, {gptq: {w_bits: 4}}]            # list of {plugin: params}
//   evaluators: [{perplexity: {dataset: wiki}}]
//   sweep:                                                 # optional
//     grid: {method.1.gptq.w_bits: [4, 3]}                 # cartesian product
//     zip: {model.path: [a, b], base_model.path: [c, d]}  # paired values
//     seeds: [0, 1, 2]
// Errors are UsageError "file:line:column: message".
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/fingerprint.h"
#include "core/params.h"

namespace qlab {

// One step of a pipeline: a plugin name and its validated parameters.
struct Step {
  std::string plugin;
  Params params;
};

// A run's validated steps.
struct RunSteps {
  std::vector<Step> methods;
  std::vector<Step> evaluators;
  std::map<std::string, Step> datasets;          // dataset name -> reader step
};

class SweepRuns;   // how the runs of a study's sweep are resolved (core/study.cpp)

struct RunSpec {
  std::string hash;                              // 16 hex digits of SHA-256(config_yaml + inputs_identity(inputs))
  std::string config_yaml;                       // canonical resolved config (what is hashed and stored)
  std::vector<InputFile> inputs;                 // the files it reads, fingerprinted (core/fingerprint.h)
  // The config parsed, anew on each call: a study holds no parsed tree per
  // run, as yaml-cpp's trees take tens of kilobytes each (10^5 runs: gigabytes).
  YAML::Node config() const { return YAML::Load(config_yaml); }
  // Its steps, validated: for a sweep's later run resolved again on each call
  // (a run that executes), for the same reason; none for a RunSpec made by hand.
  RunSteps steps() const;
  std::map<std::string, std::string> axes;       // sweep axis -> value of this run (for tables)
  uint64_t seed = 0;
  // Where learned transforms are cached across runs (`transforms/` beside the
  // results file); not part of the config, so not hashed.
  std::string cache_dir;
  // The folder of the results file, for files an evaluator writes beside
  // them (a leaderboard submission); "" outside a study (then: the working directory).
  std::string results_dir;
  // Set by load_study: the sweep this run comes from, and its position there.
  std::shared_ptr<const SweepRuns> sweep;
  size_t index = 0;
};

struct Study {
  std::string file;                              // the YAML file it came from
  std::string name;
  std::string output;                            // HDF5 results file
  std::vector<RunSpec> runs;
};

// What a study must hold beyond its schemas.
struct StudyRules {
  // A run without evaluators would be complete with no metrics: refused for
  // `qlab run`; `qlab quantize` builds a one-run study of methods only.
  bool needs_evaluators = true;
  // A sweep expanding to more runs is refused with its size before any is
  // built (`qlab run --max-runs`); 0: no bound.
  size_t max_runs = 100000;
};

// Loads, applies `key=value` overrides (dotted paths, YAML values), validates
// against the registry's schemas and expands the sweep. Nothing runs here.
// Relative data set paths are resolved here, once: against data_root, itself
// relative to the working directory (the readers get absolute paths; the
// config keeps the paths as written).
Study load_study(const std::string& path, const std::vector<std::string>& overrides = {},
                 const StudyRules& rules = StudyRules{});

// The same from YAML text built in memory; `origin` names it in messages and is
// the study's default name.
Study load_study_text(const std::string& text, const std::string& origin, const std::vector<std::string>& overrides,
                      const StudyRules& rules);

}  // namespace qlab
