// Filling a sentence template: "{A} went to {T}" with the slots of one
// rendering. "{key}" is replaced by the slot's text; "{A:he|she}" picks the
// masculine or feminine alternative by the gender of slot A (Spanish and
// Russian agreement: "{A:пошёл|пошла}"). The templates are the generator's
// own tables, so a missing slot is a bug (std::logic_error), not user input.
#pragma once
#include <map>
#include <string>
#include <string_view>

namespace qlab::synthetic {

struct Slots {
  std::map<std::string, std::string> text;    // "A", "A.gen", "T.prep", ...
  std::map<std::string, bool> feminine;       // "A" -> true for a feminine entity

  void set(const std::string& key, std::string value) { text[key] = std::move(value); }
};

std::string render(std::string_view tmpl, const Slots& slots);

}  // namespace qlab::synthetic
