// The safetensors parser against hand-built files, good and bad, and the
// writer against the parser. Torch-free: tests/asan builds this file again
// with AddressSanitizer and UBSan.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/model/safetensors.h"
#include "test_util.h"

namespace qlab {
namespace {

// 8-byte little-endian length, header text, buffer: the format spelled out by
// hand, independent of the writer.
std::string file_bytes(const std::string& header, const std::string& buffer) {
  std::string s;
  for (int i = 0; i < 8; ++i) s += char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return s + header + buffer;
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

SafetensorsHeader parse(const std::string& bytes) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m.safetensors");
}

// Expects a one-line UsageError "m.safetensors: ..." containing `needle`.
void expect_rejected(const std::string& bytes, const std::string& needle) {
  try {
    parse(bytes);
    FAIL() << "accepted; expected an error containing '" << needle << "'";
  } catch (const UsageError& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind("m.safetensors: ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

const std::string kTwo =
    R"({"b": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},)"
    R"( "a": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]},)"
    R"( "__metadata__": {"format": "pt"}})";

TEST(Safetensors, ParsesGoodFile) {
  SafetensorsHeader h = parse(file_bytes(kTwo, std::string(32, 'x')));
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "b");   // buffer order, not name order
  EXPECT_EQ(h.tensors[0].dtype, "F32");
  EXPECT_EQ(h.tensors[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.tensors[0].numel(), 6);
  EXPECT_EQ(h.tensors[1].name, "a");
  EXPECT_EQ(h.tensors[1].begin, 24u);
  EXPECT_EQ(h.tensors[1].end, 32u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_EQ(h.data_start, 8 + kTwo.size());
}

TEST(Safetensors, MemoryMappedFileGivesTheBytes) {
  std::string dir = test::temp_dir("st");
  std::string header = R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}})";
  test::write_file(dir + "/m.safetensors", file_bytes(header, floats({1.5f, -2.f, 3.25f})));
  auto f = SafetensorsFile::open(dir + "/m.safetensors");
  const SafetensorsTensor* w = f->find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(f->find("nope"), nullptr);
  float v[3];
  std::memcpy(v, f->data(*w), 12);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], -2.f);
  EXPECT_EQ(v[2], 3.25f);
}

TEST(Safetensors, EmptyHeaderAndBufferIsValid) {
  EXPECT_TRUE(parse(file_bytes("{}", "")).tensors.empty());
}

TEST(Safetensors, RejectsTruncatedFile) {
  expect_rejected(std::string("\x05\0\0", 3), "shorter than the 8-byte header length");
  expect_rejected("", "0 bytes");
}

TEST(Safetensors, RejectsHeaderLengthPastEnd) {
  std::string bytes = file_bytes("{}", "");
  bytes[0] = char(200);   // claims 200 header bytes; the file has 2 after the prefix
  expect_rejected(bytes, "runs past the end of the file");
}

TEST(Safetensors, RejectsAbsurdHeaderLength) {
  std::string bytes = file_bytes("{}", "");
  bytes[5] = 1;   // 2^40 + 2
  expect_rejected(bytes, "absurd");
}

TEST(Safetensors, RejectsMalformedJson) {
  expect_rejected(file_bytes(R"({"a": {"dtype": )", ""), "not valid JSON");
  expect_rejected(file_bytes("[1, 2]", ""), "not a JSON object");
  expect_rejected(file_bytes(R"({"a": 3})", ""), "tensor 'a' is not a JSON object");
  expect_rejected(file_bytes(R"({"__metadata__": {"k": 1}})", ""), "not a string");
}

TEST(Safetensors, RejectsUnknownDtype) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}})", "x"),
                  "unknown dtype 'F8'");
  expect_rejected(file_bytes(R"({"a": {"shape": [1], "data_offsets": [0, 1]}})", "x"), "no string 'dtype'");
}

TEST(Safetensors, ParsesNonFloatDtypes) {
  auto h = parse(file_bytes(R"({"i": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]},)"
                            R"( "m": {"dtype": "BOOL", "shape": [3], "data_offsets": [16, 19]}})",
                            std::string(19, '\0')));
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_FALSE(safetensors_is_float("I64"));
  EXPECT_TRUE(safetensors_is_float("BF16"));
}

TEST(Safetensors, RejectsBadShapes) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 1]}})", "x"),
                  "not a non-negative integer");
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 1]}})", "x"),
                  "not a non-negative integer");
  // 2^32 * 2^32 elements: the product wraps to 0 in 64 bits, matching an empty range.
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", ""),
                  "overflows");
  // 2^62 elements of 4 bytes: the byte count wraps.
  expect_rejected(file_bytes(R"({"a": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}})", ""),
                  "overflows");
}

TEST(Safetensors, RejectsBadOffsets) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0]}})", "x"), "two non-negative");
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": ["0", "1"]}})", "x"), "two non-negative");
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}})", "x"), "two non-negative");
  expect_rejected(file_bytes(R"({"a": {"dtype": "U8", "shape": [0], "data_offsets": [1, 0]}})", "x"), "end before begin");
}

TEST(Safetensors, RejectsOffsetsOutOfRange) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", "1234"),
                  "past the data buffer of 4 bytes");
}

TEST(Safetensors, RejectsSizeMismatch) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", "1234"),
                  "spans 4 bytes but F32 [2] needs 8");
}

TEST(Safetensors, RejectsOverlap) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                             R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                             std::string(8, 'x')),
                  "overlap");
}

TEST(Safetensors, RejectsHolesAndTrailingBytes) {
  expect_rejected(file_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", std::string(8, 'x')),
                  "hole before 'a'");
  expect_rejected(file_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", std::string(8, 'x')),
                  "4 trailing bytes");
}

TEST(Safetensors, OpenNamesTheFile) {
  std::string dir = test::temp_dir("st");
  test::write_file(dir + "/short.safetensors", "abc");
  try {
    SafetensorsFile::open(dir + "/short.safetensors");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir + "/short.safetensors: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(SafetensorsFile::open(dir + "/absent.safetensors"), UsageError);
  EXPECT_THROW(SafetensorsFile::open(dir), UsageError);   // a directory
}

TEST(Safetensors, WriterOutputMatchesTheFormatByHand) {
  std::string dir = test::temp_dir("st");
  std::string data = floats({7.f});
  write_safetensors(dir + "/one.safetensors", {{"w", "F32", {1}, data}});
  // Compact JSON, keys sorted, padded with spaces to a multiple of 8.
  std::string header = R"({"w":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  EXPECT_EQ(test::read_file(dir + "/one.safetensors"), file_bytes(header, data));
}

TEST(Safetensors, WriterParserRoundTrip) {
  std::string dir = test::temp_dir("st");
  std::string z = floats({1, 2, 3, 4, 5, 6}), a = std::string("\x01\x02\x03", 3), e;
  std::string h16 = std::string("\x00\x3c\x00\xc0", 4);   // F16 1.0, -2.0
  write_safetensors(dir + "/rt.safetensors",
                    {{"z", "F32", {2, 3}, z}, {"a", "U8", {3}, a}, {"m", "F16", {2}, h16}, {"empty", "F32", {0, 5}, e}},
                    {{"format", "pt"}, {"note", "qlab"}});
  std::string raw = test::read_file(dir + "/rt.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(raw[i]);
  EXPECT_EQ(n % 8, 0u);

  auto f = SafetensorsFile::open(dir + "/rt.safetensors");
  ASSERT_EQ(f->tensors().size(), 4u);
  std::vector<std::string> order;
  for (const auto& t : f->tensors()) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "empty", "m", "z"}));   // sorted by name, in buffer order
  auto bytes = [&](const std::string& name) {
    const auto* t = f->find(name);
    return std::string(reinterpret_cast<const char*>(f->data(*t)), t->end - t->begin);
  };
  EXPECT_EQ(bytes("z"), z);
  EXPECT_EQ(bytes("a"), a);
  EXPECT_EQ(bytes("m"), h16);
  EXPECT_EQ(f->find("empty")->shape, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(f->find("z")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f->metadata().at("note"), "qlab");
  EXPECT_FALSE(std::filesystem::exists(dir + "/rt.safetensors.tmp"));
}

TEST(Safetensors, WriterRejectsInconsistentEntries) {
  std::string dir = test::temp_dir("st");
  EXPECT_THROW(write_safetensors(dir + "/x.safetensors", {{"w", "F32", {2}, "abc"}}), UsageError);
  EXPECT_THROW(write_safetensors(dir + "/x.safetensors", {{"w", "Q4", {1}, "a"}}), UsageError);
  EXPECT_THROW(write_safetensors(dir + "/x.safetensors", {{"w", "U8", {1}, "a"}, {"w", "U8", {1}, "b"}}), UsageError);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.safetensors"));
}

}  // namespace
}  // namespace qlab
