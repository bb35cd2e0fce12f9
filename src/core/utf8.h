// utf8.h - UTF-8 validation (RFC 3629): the one decoder every module uses.
// Owns: where a valid UTF-8 sequence ends. Never: allocates, or decides what a caller does with
// an invalid byte (proto refuses, the JSON writer replaces, auth refuses).
#pragma once

#include <cstddef>
#include <string_view>

namespace outpost::core {

// Length in bytes (1..4) of the UTF-8 sequence that starts at s[i], or 0 when it is not valid:
// truncated, overlong, a surrogate, above U+10FFFF, or a stray continuation byte. i < s.size().
size_t utf8_sequence(std::string_view s, size_t i);

// True when all of `s` is valid UTF-8.
bool utf8_valid(std::string_view s);

} // namespace outpost::core
