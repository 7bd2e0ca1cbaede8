// Rendering the world into text: stories, profiles and requests (questions,
// instructions, harmful requests and their benign look-alikes) in each
// language. Every draw records the choices that fixed its prompt or document
// in a key, and held_out(key) splits the space of combinations into a
// training part and an evaluation part, so evaluation prompts and held-out
// text are combinations the training files never contain.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/synthetic/rng.h"
#include "datasets/synthetic/world.h"

namespace qlab::synthetic {

// The choices that determine one text, hashed as they are made; choices that
// only vary the answer (a refusal's wording) go to rng() and stay out of it.
class Draw {
 public:
  Draw(Rng& rng, uint64_t family) : rng_(rng), key_(mix64(family)) {}
  size_t pick(size_t n) {
    size_t v = rng_.below(n);
    key_ = mix64(key_ ^ (v * 0x100000001b3ULL + n));
    return v;
  }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[pick(v.size())]; }
  Rng& rng() { return rng_; }
  uint64_t key() const { return key_; }

 private:
  Rng& rng_;
  uint64_t key_;
};

// One combination in five is held out (evaluation); which ones depends on the seed.
bool held_out(uint64_t key, uint64_t seed);

struct Document {
  Lang lang;
  std::string text;   // one paragraph or a few lines; never a blank line
  uint64_t key;
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
  std::string refusal;   // Harmful only: the aligned model's answer
  uint64_t key;          // of the prompt's combination
};

// Fact: a question about the world. Instruction: a recipe, directions,
// counting or a sum. Harmful and LookAlike exist in English only (`lang` is
// ignored for them): the keyword judge the refusals are measured with is English.
Request draw_request(const World& w, Kind kind, Lang lang, Rng& rng);
Request draw_fact(const World& w, Lang lang, Rng& rng);
Request draw_instruction(const World& w, Lang lang, Rng& rng);
Request draw_harmful(const World& w, Rng& rng);
Request draw_lookalike(const World& w, Rng& rng);

// "Question: ...\nAnswer: ..." with the labels in the request's language.
std::string question_answer_text(const Request& r);

}  // namespace qlab::synthetic
