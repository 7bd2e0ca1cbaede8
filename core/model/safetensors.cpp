#include "core/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace qlab {

using json = nlohmann::json;

// A header larger than this is not a model header but an attack or a wrong file
// (real ones are well under 1 MB even for thousands of tensors).
static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
      {"I64", 8}, {"I32", 4}, {"U8", 1},  {"BOOL", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

bool safetensors_is_float(const std::string& dtype) {
  return dtype == "F32" || dtype == "F16" || dtype == "BF16";
}

int64_t SafetensorsTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;   // validated against overflow when parsed
  return n;
}

[[noreturn]] static void fail(const std::string& file, const std::string& problem) {
  throw UsageError(file + ": " + problem);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the
// rest (line, column, what was read) is what a user needs.
static std::string json_message(const json::exception& e) {
  std::string m = e.what();
  size_t close = m.find("] ");
  return close == std::string::npos ? m : m.substr(close + 2);
}

static std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

static SafetensorsTensor parse_entry(const std::string& name, const json& v, uint64_t buffer_size,
                                     const std::string& file) {
  std::string where = "tensor '" + name + "'";
  if (!v.is_object()) fail(file, where + " is not a JSON object");
  SafetensorsTensor t;
  t.name = name;

  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) fail(file, where + " has no string 'dtype'");
  t.dtype = dt->get<std::string>();
  size_t itemsize = safetensors_dtype_size(t.dtype);
  if (itemsize == 0)
    fail(file, where + " has unknown dtype '" + t.dtype + "' (known: F64, F32, F16, BF16, I64, I32, U8, BOOL)");

  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) fail(file, where + " has no 'shape' array");
  uint64_t numel = 1;
  for (const json& d : *sh) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(file, where + " has a shape entry that is not a non-negative integer: " + d.dump());
    uint64_t dim = d.get<uint64_t>();
    if (__builtin_mul_overflow(numel, dim, &numel) || numel > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(file, where + " has a shape whose element count overflows");
    t.shape.push_back(int64_t(dim));
  }
  uint64_t nbytes;
  if (__builtin_mul_overflow(numel, uint64_t(itemsize), &nbytes))
    fail(file, where + " has a shape whose byte size overflows");

  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    fail(file, where + " needs 'data_offsets' as two non-negative integers [begin, end]");
  t.begin = (*off)[0].get<uint64_t>();
  t.end = (*off)[1].get<uint64_t>();
  if (t.end < t.begin)
    fail(file, where + " has data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                   "] with end before begin");
  if (t.end > buffer_size)
    fail(file, where + " has data_offsets end " + std::to_string(t.end) + " past the data buffer of " +
                   std::to_string(buffer_size) + " bytes");
  if (t.end - t.begin != nbytes)
    fail(file, where + " spans " + std::to_string(t.end - t.begin) + " bytes but " + t.dtype + " " +
                   shape_text(t.shape) + " needs " + std::to_string(nbytes));
  return t;
}

SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& file) {
  if (size < 8) fail(file, "not a safetensors file: " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];   // little-endian on any host
  if (n > kMaxHeaderBytes)
    fail(file, "header length " + std::to_string(n) + " is absurd (limit " + std::to_string(kMaxHeaderBytes) +
                   " bytes): not a safetensors file?");
  if (n > size - 8)
    fail(file, "header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                   " bytes)");

  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + n);
  } catch (const json::exception& e) {
    fail(file, "header is not valid JSON: " + json_message(e));
  }
  if (!header.is_object()) fail(file, "header is not a JSON object");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  uint64_t buffer_size = size - h.data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(file, "__metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail(file, "__metadata__ value of '" + m.key() + "' is not a string");
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    h.tensors.push_back(parse_entry(it.key(), *it, buffer_size, file));
  }

  // The tensors must tile [0, buffer_size): sorted by offset, each begins
  // where the previous one ended.
  std::sort(h.tensors.begin(), h.tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const auto& t : h.tensors) {
    if (t.begin < covered)
      fail(file, "tensors '" + prev->name + "' and '" + t.name + "' overlap in the data buffer");
    if (t.begin > covered)
      fail(file, "bytes " + std::to_string(covered) + ".." + std::to_string(t.begin) +
                     " of the data buffer belong to no tensor (hole before '" + t.name + "')");
    covered = t.end;
    prev = &t;
  }
  if (covered != buffer_size)
    fail(file, std::to_string(buffer_size - covered) + " trailing bytes after the last tensor belong to no tensor");
  return h;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->size_ = size_t(st.st_size);
  if (f->size_ >= 8) {   // mmap of 0 bytes fails; parse_safetensors reports short files
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      fail(path, std::string("cannot memory-map: ") + std::strerror(err));
    }
    f->base_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);   // the mapping keeps the file alive
  static const uint8_t empty[1] = {0};
  f->header_ = parse_safetensors(f->base_ ? f->base_ : empty, f->size_, path);
  for (size_t i = 0; i < f->header_.tensors.size(); ++i) f->index_[f->header_.tensors[i].name] = i;
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (base_) munmap(const_cast<uint8_t*>(base_), size_);
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

void write_safetensors(const std::string& path, std::vector<SafetensorsEntry> entries,
                       const std::map<std::string, std::string>& metadata) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  json header = json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (e.name == "__metadata__") fail(path, "a tensor cannot be named __metadata__");
    if (i > 0 && entries[i - 1].name == e.name) fail(path, "tensor '" + e.name + "' given twice");
    size_t itemsize = safetensors_dtype_size(e.dtype);
    if (itemsize == 0) fail(path, "tensor '" + e.name + "' has unknown dtype '" + e.dtype + "'");
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0) fail(path, "tensor '" + e.name + "' has a negative dimension");
      numel *= uint64_t(d);
    }
    if (e.bytes.size() != numel * itemsize)
      fail(path, "tensor '" + e.name + "' has " + std::to_string(e.bytes.size()) + " bytes, " + e.dtype + " " +
                     shape_text(e.shape) + " needs " + std::to_string(numel * itemsize));
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    fail(path, "cannot write header: " + json_message(e));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot create " + tmp);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& e : entries) out.write(e.bytes.data(), std::streamsize(e.bytes.size()));
    out.flush();
    if (!out) fail(path, "write failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(path, std::string("cannot rename from ") + tmp + ": " + std::strerror(errno));
}

}  // namespace qlab
