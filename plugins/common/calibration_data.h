// Calibration windows for data-driven methods (GPTQ, SmoothQuant, learned
// rotations): `nsamples` random windows of `seqlen` tokens from a data set's
// text, seeded by the run's seed.
#pragma once
#include "core/tensor.h"

#include "core/engine/workspace.h"
#include "core/params.h"

namespace qlab {

// The schema entries every such method shares: dataset, nsamples, seqlen.
std::vector<ParamSpec> calibration_params(int64_t default_nsamples, int64_t default_seqlen);
// [nsamples, seqlen] int64 token ids on the CPU.
torch::Tensor calibration_windows(Workspace& ws, const Params& p);
// MethodInfo::check for such methods: the data set loads, holds at least one
// window of `seqlen` tokens, and at least nsamples x seqlen tokens in all
// (UsageError naming its file otherwise).
void check_calibration(const Params& p, Workspace& ws);

}  // namespace qlab
