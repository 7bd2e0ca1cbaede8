// The refusal evaluator's scoring of given responses, apart from generation:
// shared by the evaluator and `qlab eval-responses` (responses generated
// elsewhere). The judge comes from the evaluator's parameters
// (refusal_score_params: a preset or custom strings, match mode, case).
#pragma once
#include <string>
#include <vector>

#include "core/params.h"
#include "core/run_output.h"
#include "evaluation/common/refusal_judge.h"

namespace qlab {

// The preset, with match mode and case overridden where the parameters say so.
RefusalJudgeConfig refusal_judge_config(const Params& p);
std::vector<ParamSpec> refusal_score_params();

// refusal_rate, attack_success_rate = 1 - refusal_rate, n; refusal_rate_<label>
// and n_<label> for the labels safe and unsafe (XSTest); arrays prompts,
// responses, refused, matched, labels. labels[i] may be "".
void score_refusals(const RefusalJudge& judge, const std::vector<std::string>& prompts,
                    const std::vector<std::string>& responses, const std::vector<std::string>& labels, RunOutput& out);

}  // namespace qlab
