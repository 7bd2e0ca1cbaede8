// Chat-formatted batched generation for the evaluators that read what a model
// says (refusal, judge, nmix): the one place that renders the chat template,
// encodes, batches with left padding, decodes and cuts at stop strings.
//
// Per prompt:
//   text = render_chat(template, [system?, user], add_generation_prompt)
//   ids  = encode(text, add_special = false)      the template already holds BOS;
//          with template "none" the tokenizer's BOS is put in front instead
//   out  = generate(...) stopping at the tokenizer's EOS ids
//   response = decode(out, skip_special) cut before the first stop string
// Prompts are sorted by length before batching (less padding), and the
// responses returned in the input order. With sampling, a row's draw depends
// on its batch (one generator per batch, seeded from `seed` + batch index).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/params.h"

namespace qlab {

class Model;
class Tokenizer;
class Workspace;

struct GenerationOptions {
  std::string chat_template = "none";   // a built-in name or a user template (core/model/chat_template.h)
  std::string system_prompt;            // "" : no system message
  int64_t max_new_tokens = 64;
  int64_t batch_size = 8;
  bool greedy = true;
  double temperature = 1.0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::vector<std::string> stop;        // the response is cut before the first of these
};

// The token ids fed to the model for one user prompt.
std::vector<int64_t> encode_chat_prompt(const Tokenizer& tokenizer, const GenerationOptions& options,
                                        const std::string& user);

// One response per prompt, in order. `tag` names the caller in progress lines.
std::vector<std::string> generate_responses(Model& model, const Tokenizer& tokenizer,
                                            const std::vector<std::string>& prompts,
                                            const GenerationOptions& options, const std::string& tag);

// `text` up to the first occurrence of any stop string.
std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stop);

// The first `limit` examples of a prompt set (0: all). Throws UsageError
// naming the data set's file when it has no examples or one has no prompt.
std::vector<Example> prompt_examples(const Dataset& data, const std::string& dataset_name, int64_t limit);

// The schema entries every generating evaluator shares (max_new_tokens,
// batch_size, greedy, temperature, top_p, system_prompt, stop), and the
// options read back from them; chat_template and seed come from the workspace.
std::vector<ParamSpec> generation_params(int64_t default_max_new_tokens);
GenerationOptions generation_options(const Params& params);

// EvaluatorInfo::check of the generating evaluators (their `dataset` and
// `limit` parameters): the longest prompt, as encoded, plus max_new_tokens
// must fit the model's context unless allow_past_context is set.
void check_generation_context(const Params& params, Workspace& ws);

}  // namespace qlab
