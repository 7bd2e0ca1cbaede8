// The judge evaluator's scoring of given (prompt, response) pairs, apart from
// generating the responses: a judge checkpoint reads each pair through its
// template and verdict.h reads its answer. Shared by the evaluator and `qlab
// eval-responses` (responses generated elsewhere).
#pragma once
#include <c10/core/Device.h>       // small c10 headers, not all of LibTorch
#include <c10/core/ScalarType.h>

#include <string>
#include <vector>

#include "core/params.h"
#include "core/run_output.h"
#include "evaluation/judge/verdict.h"

namespace qlab {

class JudgeScorer {
 public:
  // Reads judge_score_params; UsageError for a bad template or verdict setting.
  explicit JudgeScorer(const Params& p);
  // unsafe_rate, safe_rate, unparsed_rate, n; arrays prompts, responses,
  // verdicts (the judge's answers), labels, categories. The judge is loaded on
  // `device` in `dtype`, answers greedily in batches of `batch_size`, and is
  // dropped at the end.
  void score(const std::vector<std::string>& prompts, const std::vector<std::string>& responses, c10::Device device,
             c10::ScalarType dtype, int64_t batch_size, RunOutput& out) const;

 private:
  std::string judge_path_, template_, judge_chat_, preset_;
  VerdictParser parser_;
  int64_t judge_max_new_tokens_;
};

// The parameters JudgeScorer reads (the evaluator adds its data set and generation ones).
std::vector<ParamSpec> judge_score_params();

}  // namespace qlab
