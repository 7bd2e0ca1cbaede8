// Kept out of test_util.cpp: the ASan target links test_util without the tokenizers.
#include "test_util.h"

#include "core/model/tokenizer.h"

namespace qlab::test {
std::string sentencepiece_problem() {
  static const std::string problem = [] {
    try {
      Tokenizer::load(fixtures() + "/golden/mistral");
      return std::string();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }();
  return problem;
}
}  // namespace qlab::test
