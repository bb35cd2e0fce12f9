// credentials.h - How a secret is taken from a request and compared: Bearer parsing and a
// constant-time compare.
// Owns: the "Authorization: Bearer <token>" syntax and comparing secrets without an early exit.
// Never: decides whether a token is valid (auth/ verifies, admin/ and hub/ decide).
#pragma once

#include <string_view>

namespace outpost::core {

// The token of an "Authorization" header value "Bearer <token>" (scheme spelled exactly so, one
// space), or an empty view when the header is absent, another scheme, or has no token.
std::string_view bearer_token(std::string_view authorization);

// True when a and b hold the same bytes. The time taken depends on the length only, never on
// where the first difference is (the length itself is not secret: compare equal-size digests
// when it is).
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace outpost::core
