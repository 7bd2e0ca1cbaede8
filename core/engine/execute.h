// Executes one resolved run: load the model (cached across runs of a study),
// apply the method steps in order, run the evaluators, collect the outputs.
#pragma once
#include <functional>
#include <string>

#include "core/run_output.h"
#include "core/study.h"

namespace qlab {

class Workspace;

// Throws on failure (the runner records the message as the run's error).
RunOutput execute_run(const RunSpec& run);

// The run's method steps in order on ws (each told which step it is, so a
// step can read the one that follows), timing each into out.
void apply_methods(Workspace& ws, RunOutput& out);

// Bad input found before any run starts: loads every data set the runs
// declare and runs each method's and evaluator's check (calibration long
// enough, nothing past the model's context), without loading the weights. Throws the first UsageError (naming the file and problem).
void check_study_inputs(const Study& study);

// The device a run's config asks for, as text ("cpu", "cuda:0"), for the store.
std::string run_device(const RunSpec& run);

}  // namespace qlab
