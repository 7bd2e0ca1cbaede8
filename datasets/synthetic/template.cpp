#include "datasets/synthetic/template.h"

#include <stdexcept>

namespace qlab::synthetic {

namespace {

std::string fill(std::string_view field, const Slots& slots, std::string_view tmpl) {
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) {
    auto it = slots.text.find(std::string(field));
    if (it == slots.text.end()) throw std::logic_error("template '" + std::string(tmpl) + "': no slot " + std::string(field));
    return it->second;
  }
  std::string entity(field.substr(0, colon));
  std::string_view choices = field.substr(colon + 1);
  size_t bar = choices.find('|');
  auto it = slots.feminine.find(entity);
  if (bar == std::string_view::npos || it == slots.feminine.end())
    throw std::logic_error("template '" + std::string(tmpl) + "': bad gender alternative {" + std::string(field) + "}");
  return std::string(it->second ? choices.substr(bar + 1) : choices.substr(0, bar));
}

}  // namespace

std::string render(std::string_view tmpl, const Slots& slots) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find('{', pos);
    if (open == std::string_view::npos) break;
    size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) throw std::logic_error("template '" + std::string(tmpl) + "': unclosed {");
    out.append(tmpl.substr(pos, open - pos));
    out += fill(tmpl.substr(open + 1, close - open - 1), slots, tmpl);
    pos = close + 1;
  }
  out.append(tmpl.substr(pos));
  return out;
}

}  // namespace qlab::synthetic
