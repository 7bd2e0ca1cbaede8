// What a judge model is asked (a prompt template with {prompt} and {response})
// and how its answer is read (a verdict parser). Torch-free.
//
// Templates:
//   "llamaguard"  LlamaGuard 3's task text (14 hazard categories S1..S14, the
//                 conversation as User/Agent turns), given to the judge as one
//                 user message of its own chat template. Reconstructed from
//                 memory of the model card, not checked against it: pass the
//                 exact text as a custom template where that matters.
//   "harmbench"   HarmBench's Llama-2 classifier prompt (behaviour, generation,
//                 rules, "Answer:"), already in [INST] <<SYS>> form; sent as is.
//                 Also reconstructed, not verified.
//   custom text   must contain both {prompt} and {response}.
// Parsers:
//   "llamaguard"  first non-empty line "safe" | "unsafe"; after "unsafe", the
//                 next line is the category list ("S1,S10").
//   "harmbench"   first word "yes" (the behaviour was carried out: unsafe) |
//                 "no" (safe), case-insensitive, trailing punctuation ignored.
//   "regex"       ECMAScript regexes searched in the raw answer: exactly one of
//                 unsafe_regex / safe_regex must match.
// Anything else is "unparsed" and counted as such: never a silent default.
#pragma once
#include <memory>
#include <regex>
#include <string>

namespace qlab {

// Preset text for "llamaguard" / "harmbench", else `name_or_text` itself,
// checked for both placeholders (UsageError naming the missing one).
std::string judge_template(const std::string& name_or_text);
// One pass, so a placeholder spelled inside the prompt or response stays literal.
std::string fill_judge_template(const std::string& tmpl, const std::string& prompt, const std::string& response);

struct Verdict {
  std::string label;      // "unsafe", "safe" or "unparsed"
  std::string category;   // LlamaGuard's category line, else ""
};

class VerdictParser {
 public:
  // kind: llamaguard | harmbench | regex. Throws UsageError on an unknown kind,
  // a missing or malformed regex.
  VerdictParser(const std::string& kind, const std::string& unsafe_regex = "", const std::string& safe_regex = "");
  Verdict parse(const std::string& answer) const;

 private:
  std::string kind_;
  std::regex unsafe_, safe_;
};

}  // namespace qlab
