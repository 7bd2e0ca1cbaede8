// Helpers shared by the dataset readers (not part of the public reader API).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qlab {

// Lines with their '\n' kept (the last one may lack it).
std::vector<std::string_view> split_lines_keep_newline(std::string_view text);
std::string_view strip_newline(std::string_view line);   // drops "\n" or "\r\n"
bool keep_more(int64_t limit, size_t have);              // limit <= 0 keeps all

// Returns `text`, or throws "file:line: empty prompt" when it is blank.
std::string require_prompt(std::string text, const std::string& file, int line);
// Canonical ISO 639-1 code of `code` ("iw" -> "he"), or throws
// "file:line: unknown language code 'x'" for codes the language identifiers lack.
std::string require_language(const std::string& code, const std::string& file, int line);

}  // namespace qlab
