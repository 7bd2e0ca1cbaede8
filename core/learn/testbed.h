// The testbed: qlab's own pair of model organisms, built from nothing but the
// repository. From the generated corpus (datasets/synthetic/testbed.h) it
// trains a byte-level BPE tokenizer (core/model/bpe_train.h), a **base** model
// (pre-trained on the stories and on conversations in which the assistant
// complies with every request) and an **aligned** model (the base fine-tuned
// on conversations that refuse the harmful category and answer everything
// else in the prompt's language), with core/learn/lm_train.h. The default
// study quantizes the aligned model, with the base as AAQ's push target.
//
// Layout of out_dir: corpus/, tokenizer/, base/, aligned/, each with a
// qlab_testbed.json recording what made it. Every piece is a function of the
// options; one whose record matches is reused, so a second call costs
// nothing, and an interrupted training resumes (the trainer's own state).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qlab {

struct TestbedOptions {
  std::string out_dir = "results/testbed";
  std::string size = "default";   // small (tests) | refusal (tests: the cheapest that learns to refuse) | default (2-core CPU, ~3 min) | gpu (tens of millions of parameters)
  uint64_t seed = 0;              // corpus, initialisation and data order
  std::string device = "cpu";
};

struct Testbed {
  std::string corpus, tokenizer, base, aligned;   // folders
  std::vector<std::string> built;                 // pieces built by this call (the rest were reused)
};

// Throws UsageError naming the option or the folder.
Testbed build_testbed(const TestbedOptions& options);
const std::vector<std::string>& testbed_sizes();

}  // namespace qlab
