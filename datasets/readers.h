// Dataset readers: each reads one public format and returns a qlab::Dataset.
// `limit` keeps the first `limit` rows/examples (0 = all). Every error a user
// can cause is a UsageError naming the file (and line where known).
// datasets/register.cpp exposes each reader as a dataset plugin.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/dataset.h"

namespace qlab {

// The whole file; throws "path: cannot read file", and "path: not valid UTF-8
// at byte offset N" for text a tokenizer could not take.
std::string read_text_file(const std::string& path);

// --- corpora (Dataset::text) ---

// The papers' joining rule for WikiText-2 raw: rows are the file's lines with
// the newline kept, a blank row " \n" becomes "", rows joined with "\n\n".
std::string wikitext2_join(std::string_view raw, int64_t limit_rows = 0);
// path: a .raw file, or a folder holding <split>.raw or wiki.<split>.raw
// (split: test, valid or train). Train is read the same way, as GPTQ's and
// the rotation papers' loaders join the Hugging Face train rows.
Dataset read_wikitext2_raw(const std::string& path, int64_t limit_rows = 0, const std::string& split = "test");
// A plain text file, whole (limit: the first `limit` lines).
Dataset read_text(const std::string& path, int64_t limit_lines = 0);
// JSON lines; the string `field` of each record, joined with "\n\n".
Dataset read_jsonl_text(const std::string& path, const std::string& field = "text", int64_t limit = 0);

// --- prompt sets (Dataset::examples) ---

// AdvBench harmful_behaviors.csv: goal -> prompt, target -> reference.
Dataset read_advbench(const std::string& path, int64_t limit = 0);
// XSTest xstest_prompts.csv: id, prompt, label ("safe"/"unsafe"). XSTest has no
// reference answers, so Example::reference carries the prompt type
// ("homonyms", "contrast_homonyms", ...) for per-type breakdowns.
Dataset read_xstest(const std::string& path, int64_t limit = 0);

// Field names of a JSON-lines prompt file. An empty name means "not read".
struct PromptFields {
  std::string prompt = "prompt";
  std::string language = "language";   // "lang" is tried when this one is absent
  std::string reference = "reference";
  std::string label = "label";
  std::string id = "id";
};
Dataset read_jsonl_prompts(const std::string& path, const PromptFields& fields = {}, int64_t limit = 0);

// TOFU translated forget set (forget01_XX.jsonl: {"question", "answer"}):
// question -> prompt, answer -> reference; language from the "_XX" file-name
// suffix unless `language` is given ("iw" is read as "he").
Dataset read_tofu_ml(const std::string& path, const std::string& language = "", int64_t limit = 0);

// Two line-aligned files: line i of `source` translates line i of `target`.
// prompt = source line, reference = target line, language = source_language,
// label = target_language. Different line counts are an error.
Dataset read_parallel_text(const std::string& source, const std::string& target,
                           const std::string& source_language, const std::string& target_language,
                           int64_t limit = 0);

// --- multiple choice ---

// SafetyBench dev layout: {"Category": [{"question", "options": [...], "answer"}]}.
// answer is an index or a letter "A".."Z"; the category becomes Example::label.
Dataset read_safetybench(const std::string& path, int64_t limit = 0);
// JSON lines {"context", "choices": [...], "answer": index}.
Dataset read_jsonl_mc(const std::string& path, int64_t limit = 0);

}  // namespace qlab
