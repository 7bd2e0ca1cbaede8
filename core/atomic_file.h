// Writing a small file so that a reader never sees half of it: the content
// goes to "<path>.tmp" and is renamed over path. Torch-free.
#pragma once
#include <string>

namespace qlab {

// Throws UsageError "path: write failed" when the file cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace qlab
