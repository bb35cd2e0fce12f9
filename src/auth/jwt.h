// jwt.h - Compact JWS (JWT) verification over mbedTLS: HS256, RS256, ES256, pinned to one key.
// Owns: AuthCode, Policy, Identity and verify(), a pure function of (token, keys, now, policy).
// Never: reads files, clocks or the environment, fetches keys (kid/jku/x5u are ignored), logs,
// or puts token contents into error details.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "settings/settings.h"

namespace outpost::auth {

class KeySet;

// The machine codes of PROTOCOL.md §2, in CONNECT_ERROR data.code.
enum class AuthCode : uint8_t {
    token_missing,
    token_malformed,
    token_signature,
    token_algorithm,
    token_expired,
    token_not_yet_valid,
    token_issuer,
    token_audience,
    token_claims,
};
// How many AuthCodes there are: the size of every table indexed by one.
inline constexpr size_t kAuthCodeCount = static_cast<size_t>(AuthCode::token_claims) + 1;

std::string_view auth_code_name(AuthCode code);    // "token_expired"
std::string_view auth_code_message(AuthCode code); // "token expired" (the CONNECT_ERROR message)

// Largest token accepted, in bytes; longer ones are refused before decoding.
inline constexpr size_t kMaxTokenBytes = 8192;
// Longest `name` claim, in bytes of UTF-8.
inline constexpr size_t kMaxNameBytes = 128;

enum class UnsyncedClock : uint8_t { reject, skip_time_checks };

struct Policy {
    int64_t leeway_s = 30; // clamped to 0..86400 when used
    bool require_exp = true;
    std::string issuer;   // empty: `iss` not checked
    std::string audience; // empty: `aud` not checked
    // Set by the caller when the wall clock is before the build date (clock_looks_unsynced()).
    bool clock_unsynced = false;
    // With clock_unsynced: `reject` refuses every token carrying exp, nbf or iat with
    // token_not_yet_valid; `skip_time_checks` accepts them without comparing times.
    UnsyncedClock unsynced_mode = UnsyncedClock::reject;
};

// Policy from the `auth` settings; clock_unsynced is filled by the caller at verify time.
Policy policy_from_settings(const settings::Auth& auth);
// True when `now_s` is before the build date: the board's clock has not been set.
bool clock_looks_unsynced(int64_t now_s);

struct Identity {
    std::string user_id;  // from `sub` (wins) or `userId`
    std::string name;     // `name`, empty when absent
    bool admin = false;   // `role` == "admin"
    bool has_rooms_claim = false;
    std::vector<std::string> rooms; // `rooms` patterns, when has_rooms_claim
    std::optional<int64_t> exp;     // seconds since the epoch
};

// A refusal: the code for the client plus a detail for the server log (claim names, never values).
struct AuthError {
    AuthCode code = AuthCode::token_malformed;
    std::string detail;
};

// Identity or AuthError, shaped like outpost::Result.
class [[nodiscard]] VerifyResult {
public:
    VerifyResult(Identity id) : v_(std::move(id)) {}
    VerifyResult(AuthError e) : v_(std::move(e)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    Identity& value() & { return std::get<0>(v_); }
    const Identity& value() const& { return std::get<0>(v_); }
    Identity&& value() && { return std::get<0>(std::move(v_)); }
    const Identity* operator->() const { return &std::get<0>(v_); }
    const Identity& operator*() const& { return std::get<0>(v_); }
    const AuthError& error() const { return std::get<1>(v_); }
    AuthCode code() const { return std::get<1>(v_).code; } // only when !ok()

private:
    std::variant<Identity, AuthError> v_;
};

// Verifies `token` against the pinned key and checks its claims at time `now_s` (seconds).
// Order: missing, size, structure, header and payload JSON, crit, alg, signature, then
// claims (times, iss, aud, identity, rooms, name). Times: refused when now >= exp + leeway
// (token_expired), when now + leeway < nbf or now + leeway < iat (token_not_yet_valid).
VerifyResult verify(std::string_view token, const KeySet& keys, int64_t now_s, const Policy& policy);
// The server's verification policy, one place for every caller (hub CONNECT, admin HTTP):
// verify() under policy_from_settings(auth), with clock_unsynced from clock_looks_unsynced(now_s).
VerifyResult verify_with_settings(std::string_view token, const KeySet& keys, const settings::Auth& auth, int64_t now_s);

// User ids (and deviceIds) are 1-64 chars of [A-Za-z0-9_.@-] (PROTOCOL.md §2).
inline constexpr size_t kMaxUserIdBytes = 64;
bool is_valid_user_id(std::string_view id);
// A display name: at most kMaxNameBytes of strict UTF-8 without control characters.
bool is_valid_display_name(std::string_view name);

} // namespace outpost::auth
