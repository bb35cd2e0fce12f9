// signature.h - JWS signature primitives on mbedTLS: HMAC-SHA256, RSASSA-PKCS1-v1_5, ECDSA P-256.
// Owns: checking one signature over one signing input with one KeySet. Never: parses JSON or
// decides which algorithm a token may use (jwt.cpp pins it before calling here).
#pragma once

#include <string>
#include <string_view>

namespace outpost::auth {

class KeySet;

// True when `sig` (raw bytes, already base64url-decoded) signs `input` under `keys`, using the
// KeySet's own algorithm. HS256: 32 bytes, compared in constant time. RS256: exactly the key's
// modulus length. ES256: exactly 64 bytes r||s with 0 < r, s < n.
bool signature_valid(const KeySet& keys, std::string_view input, std::string_view sig);

// HMAC-SHA256(key, input) as 32 raw bytes; empty on failure. For minting.
std::string hmac_sha256(std::string_view key, std::string_view input);

} // namespace outpost::auth
