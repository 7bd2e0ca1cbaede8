// The zero-shot tasks of the rotation papers (lm-evaluation-harness 0.4
// tasks): one reader per task, each building the context and choices as the
// harness's task definition does, and the table of tasks the `zeroshot`
// reader and evaluator share. The files are those of ../shared/data/zeroshot
// (its README.md gives sources and formats); HellaSwag's is rowanz/hellaswag's
// hellaswag_val.jsonl.
//
// Every example's `label` is its task's name. Multiple-choice tasks fill
// prompt (the context), choices and answer; WinoGrande (partial scoring) also
// fills contexts (one per choice) and reference (the shared continuation,
// without the delimiter); LAMBADA fills prompt and reference (the last word)
// and has no choices.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dataset.h"

namespace qlab {

struct ZeroShotTask {
  std::string name;     // lm-eval's task name, also the folder under the zero-shot root
  std::string file;     // the split inside that folder
  bool acc_norm;        // the task defines acc_norm (lm-eval's metric_list)
  bool lambada;         // last-word task: acc (greedy match) and perplexity, no choices
  // Reads `path` (the split file, or the task's folder); limit: first N items (0 = all).
  std::function<Dataset(const std::string& path, int64_t limit)> read;
};

// In the order the papers' tables list them.
const std::vector<ZeroShotTask>& zeroshot_tasks();
// The task of that name, or nullptr.
const ZeroShotTask* find_zeroshot_task(const std::string& name);

// HellaSwag's cleaning of a context or ending: strip, " [title]" -> ". ",
// drop every "[...]" tag, then each pair of spaces -> one (one pass, as
// Python's str.replace).
std::string hellaswag_preprocess(const std::string& text);

// The folder reader: every task of `tasks` (empty: all) whose split exists
// under `root`, concatenated in table order. A task named in `tasks` but
// absent is an error; with `tasks` empty, absent tasks are skipped (logged).
Dataset read_zeroshot(const std::string& root, const std::vector<std::string>& tasks, int64_t limit_per_task);

}  // namespace qlab
