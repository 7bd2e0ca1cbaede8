// Executes one resolved run: load the model (cached across runs of a study),
// apply the method steps in order, run the evaluators, collect the outputs.
#pragma once
#include <functional>
#include <string>

#include "core/run_output.h"
#include "core/study.h"

namespace qlab {

// Throws on failure (the runner records the message as the run's error).
RunOutput execute_run(const RunSpec& run);

// The device a run's config asks for, as text ("cpu", "cuda:0"), for the store.
std::string run_device(const RunSpec& run);

}  // namespace qlab
