// The safetensors file format, torch-free: a reader that memory-maps a file
// and validates its header completely before anything is read, and a writer.
//
// Layout: u64 little-endian N, then N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//    "__metadata__": {"<key>": "<value>"}}   (optional, strings only)
// then the data buffer; offsets are relative to the buffer's start.
//
// Validation policy (every violation is a UsageError "<file>: <problem>"):
// known dtype, non-negative shape with no overflow, end - begin == numel *
// itemsize, and the tensors must tile the buffer exactly: no overlap, no hole,
// no trailing bytes. This is what the reference implementation enforces too,
// and it means every byte of the file is accounted for.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qlab {

// Bytes per element of a safetensors dtype name ("F32", "BF16", ...); 0 when
// the name is not one we know.
size_t safetensors_dtype_size(const std::string& dtype);
// F32, F16, BF16: the dtypes loadable as weights.
bool safetensors_is_float(const std::string& dtype);

struct SafetensorsTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;   // byte range within the data buffer
  int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<SafetensorsTensor> tensors;   // in buffer order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;                  // file offset of the data buffer (8 + N)
};

// Validates a whole file image (prefix, header, offsets against the buffer
// size). `file` names the file in error messages. Never reads outside
// [bytes, bytes + size).
SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& file);

// A read-only memory map of one safetensors file.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsTensor>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const SafetensorsTensor* find(const std::string& name) const;   // nullptr when absent
  // The tensor's bytes inside the map: end - begin of them, unaligned in general.
  const uint8_t* data(const SafetensorsTensor& t) const { return base_ + header_.data_start + t.begin; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;     // name -> position in header_.tensors
};

// One tensor to write: bytes must hold numel * itemsize bytes, little-endian.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string_view bytes;
};

// Writes tensors sorted by name, back to back, after a header padded with
// spaces to a multiple of 8 bytes (so the buffer starts 8-aligned), as
// Python's safetensors does. Writes to "<path>.tmp" then renames, so a reader
// never sees half a file. Throws UsageError on invalid entries or I/O failure.
void write_safetensors(const std::string& path, std::vector<SafetensorsEntry> entries,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace qlab
