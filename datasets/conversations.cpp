#include "datasets/conversations.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datasets/readers.h"

namespace qlab {

std::vector<Conversation> read_conversations(const std::string& path) {
  const std::string text = read_text_file(path);
  std::vector<Conversation> out;
  int line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fail = [&](const std::string& what) { throw UsageError(located(path, line_no, 0, what)); };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("not JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
      fail("expected {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}");
    Conversation c;
    for (const auto& m : j["messages"]) {
      const std::string which = "message " + std::to_string(c.size() + 1);
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) fail(which + " has no string \"role\"");
      if (!m.contains("content") || !m["content"].is_string()) fail(which + " has no string \"content\"");
      std::string role = m["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant")
        fail(which + ": unknown role \"" + role + "\" (system, user or assistant)");
      c.push_back({role, m["content"].get<std::string>()});
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) throw UsageError(path + ": empty (no conversations)");
  return out;
}

}  // namespace qlab
