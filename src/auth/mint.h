// mint.h - Minting HS256 tokens for `outpost token` and tests, and parsing the CLI's arguments.
// Owns: mint_hs256(), parse_ttl(), parse_rooms_list(). Never: reads keys or clocks itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace outpost::auth {

inline constexpr int64_t kMaxTtlS = 10LL * 366 * 24 * 3600; // ten years

struct MintRequest {
    std::string sub;                // required, a valid user id other than "system"
    int64_t ttl_s = 3600;           // exp = now + ttl_s; 1..kMaxTtlS
    bool admin = false;             // adds "role":"admin"
    bool has_rooms = false;         // adds "rooms" (possibly empty) when true
    std::vector<std::string> rooms; // patterns, each is_valid_room_pattern()
    std::string name;               // optional display name (<= kMaxNameBytes, UTF-8)
    std::string issuer;             // optional `iss`
    std::string audience;           // optional `aud` (a single string)
};

// Header {"alg":"HS256","typ":"JWT"}; payload sub, iat = now_s, exp = now_s + ttl_s, then the
// optional claims. Fails with invalid_argument (message names the field) on a bad request.
Result<std::string> mint_hs256(std::string_view secret, const MintRequest& req, int64_t now_s);

// "90s", "15m", "1h", "7d" or plain seconds "3600" -> seconds, 1..kMaxTtlS.
Result<int64_t> parse_ttl(std::string_view text);
// "site:*,lobby" -> {"site:*", "lobby"}; spaces around entries ignored; empty string -> {}.
// Every entry must be a valid room pattern.
Result<std::vector<std::string>> parse_rooms_list(std::string_view text);

} // namespace outpost::auth
