// Data sets behind one interface. A dataset plugin reads a file (or folder)
// and returns a Dataset: a text corpus, a list of examples, or both.
#pragma once
#include <string>
#include <vector>

namespace qlab {

// One row of a prompt, multiple-choice or parallel-text set. Readers fill the
// fields their format has and leave the rest empty.
struct Example {
  std::string id;
  std::string prompt;                 // prompt, question or context
  std::string reference;              // reference answer / target / translation
  std::string label;                  // e.g. XSTest "safe"/"unsafe", a category
  std::string language;               // ISO 639-1 code where known
  std::vector<std::string> choices;   // multiple choice options
  int answer = -1;                    // index into choices
  // Partial scoring (WinoGrande): one context per choice, each scored on the
  // same continuation, `reference`. Empty for ordinary multiple choice.
  std::vector<std::string> contexts;
};

struct Dataset {
  std::string name;                   // the reader that produced it
  std::string source;                 // the file or folder it was read from
  std::string text;                   // corpus for perplexity / calibration
  std::vector<Example> examples;
};

}  // namespace qlab
