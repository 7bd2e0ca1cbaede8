// Conversations for supervised fine-tuning: JSON lines, one conversation a
// line, {"messages": [{"role": "user"|"assistant"|"system", "content": "..."}, ...]}.
// Blank lines are skipped. Every error names the file and line (UsageError).
#pragma once
#include <string>
#include <vector>

#include "core/model/chat_template.h"

namespace qlab {

using Conversation = std::vector<Message>;

// Throws "path: empty (no conversations)", "path:N: not JSON: ...",
// "path:N: expected {\"messages\": [...]}", "path:N: message 2 has no string
// \"content\"", "path:N: unknown role \"bot\"", and read_text_file's errors.
std::vector<Conversation> read_conversations(const std::string& path);

}  // namespace qlab
