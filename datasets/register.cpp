// The dataset readers of datasets/readers.h as dataset plugins.
#include "core/registry.h"
#include "datasets/readers.h"

namespace qlab {

namespace {

// Paths are read from the study's data_root when relative.
ParamSpec path_param(std::string name, const std::string& doc) {
  ParamSpec s{std::move(name), ParamType::String, "", doc, true};
  s.is_path = true;
  return s;
}
ParamSpec path_param(const std::string& doc) { return path_param("path", doc); }
ParamSpec limit_param() { return {"limit", ParamType::Int, "0", "keep the first N rows/examples (0 = all)", false, 0.0}; }

}  // namespace

QLAB_REGISTER(DatasetInfo{
    "wikitext2_raw", "WikiText-2 raw text, rows joined with \"\\n\\n\" as the papers' code does (test, valid or train)",
    {path_param("a wiki.<split>.raw file, or a folder holding <split>.raw or wiki.<split>.raw"),
     {"split", ParamType::String, "test", "which file a folder path names", false, {}, {}, {"test", "valid", "train"}},
     limit_param()},
    [](const Params& p) {
      return read_wikitext2_raw(p.get_string("path"), p.get_int("limit"), p.get_string("split"));
    }});

QLAB_REGISTER(DatasetInfo{
    "text", "a plain text file, whole",
    {path_param("text file"), {"limit", ParamType::Int, "0", "keep the first N lines (0 = all)", false, 0.0}},
    [](const Params& p) { return read_text(p.get_string("path"), p.get_int("limit")); }});

QLAB_REGISTER(DatasetInfo{
    "jsonl_text", "JSON lines; one string field of each record, joined with \"\\n\\n\"",
    {path_param("JSON-lines file"), {"field", ParamType::String, "text", "the field holding the text"}, limit_param()},
    [](const Params& p) {
      return read_jsonl_text(p.get_string("path"), p.get_string("field"), p.get_int("limit"));
    }});

QLAB_REGISTER(DatasetInfo{
    "advbench", "AdvBench harmful_behaviors.csv (goal -> prompt, target -> reference)",
    {path_param("harmful_behaviors.csv"), limit_param()},
    [](const Params& p) { return read_advbench(p.get_string("path"), p.get_int("limit")); }});

QLAB_REGISTER(DatasetInfo{
    "xstest", "XSTest prompts (label safe/unsafe; the prompt type in reference)",
    {path_param("xstest_prompts.csv"), limit_param()},
    [](const Params& p) { return read_xstest(p.get_string("path"), p.get_int("limit")); }});

QLAB_REGISTER(DatasetInfo{
    "safetybench", "SafetyBench JSON ({category: [{question, options, answer}]}; category -> label)",
    {path_param("dev_en.json"), limit_param()},
    [](const Params& p) { return read_safetybench(p.get_string("path"), p.get_int("limit")); }});

QLAB_REGISTER(DatasetInfo{
    "jsonl_prompts", "JSON-lines prompts with optional language, reference, label and id fields",
    {path_param("JSON-lines file"),
     {"prompt_field", ParamType::String, "prompt", "field holding the prompt"},
     {"language_field", ParamType::String, "language", "field holding the ISO 639-1 language (\"lang\" is tried too)"},
     {"reference_field", ParamType::String, "reference", "field holding the reference answer"},
     {"label_field", ParamType::String, "label", "field holding the label"},
     {"id_field", ParamType::String, "id", "field holding the id"},
     limit_param()},
    [](const Params& p) {
      PromptFields f;
      f.prompt = p.get_string("prompt_field");
      f.language = p.get_string("language_field");
      f.reference = p.get_string("reference_field");
      f.label = p.get_string("label_field");
      f.id = p.get_string("id_field");
      return read_jsonl_prompts(p.get_string("path"), f, p.get_int("limit"));
    }});

QLAB_REGISTER(DatasetInfo{
    "jsonl_mc", "multiple choice as JSON lines {context, choices[], answer}",
    {path_param("JSON-lines file"), limit_param()},
    [](const Params& p) { return read_jsonl_mc(p.get_string("path"), p.get_int("limit")); }});

QLAB_REGISTER(DatasetInfo{
    "parallel_text", "two line-aligned files (line i translates line i); prompt = source, reference = target",
    {path_param("source-language file"),
     path_param("target_path", "target-language file"),
     {"language", ParamType::String, "", "ISO 639-1 code of the source file", true},
     {"target_language", ParamType::String, "", "ISO 639-1 code of the target file", true},
     limit_param()},
    [](const Params& p) {
      return read_parallel_text(p.get_string("path"), p.get_string("target_path"), p.get_string("language"),
                                p.get_string("target_language"), p.get_int("limit"));
    }});

QLAB_REGISTER(DatasetInfo{
    "tofu_ml", "TOFU forget set translated (forget01_XX.jsonl: question -> prompt, answer -> reference)",
    {path_param("forget01_XX.jsonl"),
     {"language", ParamType::String, "''", "ISO 639-1 code; empty = from the file name's _XX suffix"},
     limit_param()},
    [](const Params& p) {
      return read_tofu_ml(p.get_string("path"), p.get_string("language"), p.get_int("limit"));
    }});

}  // namespace qlab
