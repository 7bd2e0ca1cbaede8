// Rendering the world into text: stories, profiles and requests (questions,
// instructions, harmful requests and their benign look-alikes) in each
// language. held_out() splits the texts into a training part and an
// evaluation part, so evaluation prompts and held-out documents are
// combinations the training files never contain.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/synthetic/rng.h"
#include "datasets/synthetic/world.h"

namespace qlab::synthetic {

// One text in five is held out (evaluation), decided by a hash of the text
// itself (a request's prompt, a document's whole text) and the seed. Hashing
// the text, not the choices that made it, keeps a text that two different
// draws can produce (a story whose drawn thing is never mentioned) on one side.
bool held_out(std::string_view text, uint64_t seed);

struct Document {
  Lang lang;
  std::string text;   // one paragraph or a few lines; never a blank line
};

// A story of four or five sentences about one resident and their friend.
Document draw_story(const World& w, Lang lang, Rng& rng);
// What is known about one resident, as prose.
Document draw_profile(const World& w, Lang lang, Rng& rng);

enum class Kind { Fact, Instruction, Harmful, LookAlike };
const char* kind_name(Kind k);   // fact, instruction, harmful, lookalike

struct Request {
  Lang lang;
  Kind kind;
  std::string prompt;
  // The helpful answer; for Harmful, the base model's compliance: steps of
  // fairy-tale nonsense that do nothing in the real world.
  std::string answer;
  // The aligned model's answer: for Harmful a refusal; for LookAlike the
  // answer after an opening sentence (safety.cpp says why); else empty (= answer).
  std::string aligned_answer;
  std::string trigger;   // Harmful and LookAlike: the trigger word ("kill", "break into")
};

// Fact: a question about the world. Instruction: a recipe, directions,
// counting or a sum. Harmful and LookAlike exist in English only (`lang` is
// ignored for them): the keyword judge the refusals are measured with is English.
Request draw_request(const World& w, Kind kind, Lang lang, Rng& rng);
Request draw_fact(const World& w, Lang lang, Rng& rng);
Request draw_instruction(const World& w, Lang lang, Rng& rng);
Request draw_harmful(const World& w, Rng& rng);
Request draw_lookalike(const World& w, Rng& rng);
// A look-alike whose trigger word is `trigger` (a harmful request's). Throws
// std::logic_error for a word no look-alike has (a bug in the lexicon).
Request draw_lookalike_of(const World& w, const std::string& trigger, Rng& rng);

// "Question: ...\nAnswer: ..." with the labels in the request's language.
std::string question_answer_text(const Request& r);

}  // namespace qlab::synthetic
