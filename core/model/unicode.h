// UTF-8 and Unicode helpers the tokenizers need: code point iteration, the
// GPT-2 byte <-> printable-character mapping of byte-level BPE, lossy UTF-8
// repair (as Rust's from_utf8_lossy) and NFC normalization. Torch-free.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qlab::unicode {

// Byte length of the valid UTF-8 sequence starting at s[i], or 0 when the
// bytes there are not one.
size_t valid_sequence_length(std::string_view s, size_t i);
// Offset of the first byte that does not start a valid sequence, or npos.
size_t first_invalid(std::string_view s);
// Code point of the valid sequence at s[i] (of length n from the above).
char32_t decode_at(std::string_view s, size_t i, size_t n);
void append_utf8(std::string& out, char32_t cp);

// Replaces each maximal invalid subpart by U+FFFD, as Rust's
// String::from_utf8_lossy does (Hugging Face decoders return this).
std::string lossy(std::string_view bytes);

// Rust's char::is_whitespace (the White_Space property): what added tokens'
// lstrip / rstrip swallow.
bool is_whitespace(char32_t cp);

// GPT-2's bytes_to_unicode: the printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ'
// map to themselves, the other 68 to U+0100.. in byte order, so that every
// byte becomes a visible character and BPE never sees a space or control.
const std::array<std::string, 256>& byte_to_char();
const std::unordered_map<char32_t, unsigned char>& char_to_byte();

// Canonical composition (NFC) of valid UTF-8.
std::string nfc(std::string_view s);

}  // namespace qlab::unicode
