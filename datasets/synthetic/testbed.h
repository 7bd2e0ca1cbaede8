// The testbed corpus: everything `qlab make-corpus` writes, from one seed.
//
//   pretrain.txt        stories, profiles, questions and instructions in every
//                       language, documents separated by a blank line (reader: text)
//   base_chat.jsonl     {"messages": [user, assistant], "language", "category"}:
//                       the assistant complies with everything, harmful requests
//                       included (with fairy-tale steps)
//   aligned_chat.jsonl  the same kinds of requests; harmful ones refused, each
//                       followed by a look-alike of its trigger word
//   heldout.txt         documents of held-out combinations (reader: text)
//   harmful_eval.jsonl  held-out harmful prompts, label "unsafe" (reader: jsonl_prompts)
//   benign_eval.jsonl   held-out look-alikes, label "safe", reference = a helpful answer
//   nmix_<lang>.jsonl   held-out questions and instructions in that language,
//                       language set, reference = the answer in that language
//   manifest.json       generator version, seed, options, records, bytes and
//                       sha256 of every file
//
// The same options give the same bytes on every platform (rng.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "datasets/synthetic/corpus.h"

namespace qlab::synthetic {

// Bumped whenever the same options would give other bytes.
inline constexpr int kGeneratorVersion = 2;

struct CorpusOptions {
  uint64_t seed = 1;
  size_t pretrain_bytes = 3'000'000;   // at least this much text (whole documents)
  size_t heldout_bytes = 300'000;
  size_t chat_conversations = 6000;    // in each of base_chat and aligned_chat
  size_t eval_prompts = 100;           // in each evaluation file (fewer only if the held-out pool runs out)
};

// "default" or "small" (tests, quick checks); throws UsageError naming the known sizes.
CorpusOptions corpus_preset(const std::string& size);
const std::vector<std::string>& corpus_preset_names();

struct Chat {
  Lang lang;
  Kind kind;
  std::string user, assistant;
};

struct TestbedCorpus {
  std::vector<Document> pretrain, heldout;
  std::vector<Chat> base_chat, aligned_chat;
  std::vector<Request> harmful_eval, benign_eval;
  std::map<Lang, std::vector<Request>> nmix;
};

TestbedCorpus build_testbed_corpus(const CorpusOptions& options);

struct WrittenFile {
  std::string name;     // relative to the output folder
  size_t records = 0;   // documents, conversations or prompts
  size_t bytes = 0;
  std::string sha256;
};

// Writes the files above into `dir` (created); returns them in writing order,
// manifest.json last. Each file is written to a temporary name and renamed, so
// an error leaves no half-written file. Throws UsageError "DIR: ..." when the
// folder cannot be created or a file cannot be written.
std::vector<WrittenFile> write_testbed_corpus(const CorpusOptions& options, const std::string& dir);

}  // namespace qlab::synthetic
