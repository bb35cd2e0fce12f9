// base64.h - Base64 (RFC 4648 §4, padded) for Engine.IO polling and base64url (§5, unpadded) for JWT.
// Owns: pure encode/decode over byte strings. Never: allocates beyond the output string it is given.
#pragma once

#include <string>
#include <string_view>

namespace outpost::core {

// Appends the padded standard encoding of `in` to `out`.
void base64_encode(std::string_view in, std::string& out);
// Decodes padded standard base64 (length a multiple of 4, '=' only at the end) into `out`
// (cleared first). Returns false on any character outside the alphabet or bad padding.
bool base64_decode(std::string_view in, std::string& out);

// Appends the unpadded base64url encoding of `in` to `out`.
void base64url_encode(std::string_view in, std::string& out);
// Strict unpadded base64url: refuses '=', '+', '/', whitespace, a length of 1 mod 4, and
// non-canonical input (unused low bits of the last character not zero).
bool base64url_decode(std::string_view in, std::string& out);

} // namespace outpost::core
