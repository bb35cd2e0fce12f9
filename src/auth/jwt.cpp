// jwt.cpp - Compact JWS verification and claim checks (see jwt.h).
#include "auth/jwt.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>

#include <cjson/cJSON.h>

#include "auth/keys.h"
#include "auth/rooms.h"
#include "auth/signature.h"
#include "core/base64.h"
#include "core/cjson_ptr.h"
#include "core/utf8.h"
#include "core/build_info.h"

namespace outpost::auth {
namespace {

using Json = core::CJsonPtr;
using Check = std::optional<AuthError>; // nullopt: passed

constexpr double kMaxNumericDate = 9007199254740992.0; // 2^53: exact in a double, no overflow
constexpr int64_t kMaxLeewayS = 24 * 3600;
constexpr size_t kMaxRoomPatterns = 1000;

AuthError fail(AuthCode code, std::string detail) { return AuthError{code, std::move(detail)}; }

struct Parts {
    std::string_view header, payload, signature, signing_input;
};

// Exactly three dot-separated parts; header and payload non-empty. The signature may be empty
// here so that an `alg: none` token is reported as token_algorithm, not token_malformed.
bool split(std::string_view t, Parts& p) {
    size_t a = t.find('.');
    if (a == std::string_view::npos) return false;
    size_t b = t.find('.', a + 1);
    if (b == std::string_view::npos || t.find('.', b + 1) != std::string_view::npos) return false;
    p.header = t.substr(0, a);
    p.payload = t.substr(a + 1, b - a - 1);
    p.signature = t.substr(b + 1);
    p.signing_input = t.substr(0, b);
    return !p.header.empty() && !p.payload.empty();
}

// cJSON ends a string at an escaped NUL ("alice\u0000x" would read as "alice"). Rewrite each
// \u0000 escape to \u001f, a control character that every string we use refuses, so a value
// can never pass for its truncated prefix. "\\u0000" (escaped backslash) is left alone.
void neutralize_escaped_nul(std::string& s) {
    for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u' && s.compare(i + 2, 4, "0000") == 0) s.replace(i + 2, 4, "001f");
        ++i; // skip the escaped character
    }
}

bool has_duplicate_members(const cJSON* node) {
    if (cJSON_IsObject(node)) {
        std::vector<std::string_view> names;
        for (const cJSON* c = node->child; c; c = c->next) names.emplace_back(c->string ? c->string : "");
        std::sort(names.begin(), names.end());
        if (std::adjacent_find(names.begin(), names.end()) != names.end()) return true;
    }
    for (const cJSON* c = node->child; c; c = c->next)
        if (has_duplicate_members(c)) return true;
    return false;
}

// Decodes one base64url part into a JSON object with unique member names at every level.
Check parse_object(std::string_view b64, const char* what, Json& out) {
    std::string text;
    if (!core::base64url_decode(b64, text)) return fail(AuthCode::token_malformed, std::string(what) + " is not base64url");
    if (text.find('\0') != std::string::npos) return fail(AuthCode::token_malformed, std::string(what) + " holds a NUL byte");
    neutralize_escaped_nul(text);
    const char* end = nullptr;
    out.reset(cJSON_ParseWithLengthOpts(text.c_str(), text.size() + 1, &end, 1));
    if (!out) return fail(AuthCode::token_malformed, std::string(what) + " is not JSON");
    if (!cJSON_IsObject(out.get())) return fail(AuthCode::token_malformed, std::string(what) + " is not a JSON object");
    if (has_duplicate_members(out.get())) return fail(AuthCode::token_malformed, std::string(what) + " has duplicate member names");
    return std::nullopt;
}

const cJSON* member(const cJSON* obj, const char* name) { return cJSON_GetObjectItemCaseSensitive(obj, name); }

Check check_header(const cJSON* header, Algorithm pinned) {
    if (member(header, "crit")) return fail(AuthCode::token_malformed, "crit header present");
    const cJSON* alg = member(header, "alg");
    if (!cJSON_IsString(alg) || algorithm_name(pinned) != alg->valuestring)
        return fail(AuthCode::token_algorithm, std::string("alg is not ") + std::string(algorithm_name(pinned)));
    return std::nullopt;
}

Check check_signature(const Parts& p, const KeySet& keys) {
    std::string sig;
    if (p.signature.empty()) return fail(AuthCode::token_malformed, "signature part is empty");
    if (!core::base64url_decode(p.signature, sig)) return fail(AuthCode::token_malformed, "signature is not base64url");
    if (!signature_valid(keys, p.signing_input, sig)) return fail(AuthCode::token_signature, "signature does not verify");
    return std::nullopt;
}

// ---- Claims

struct Times {
    std::optional<int64_t> exp, nbf, iat;
    bool any() const { return exp || nbf || iat; }
};

// A NumericDate: a finite JSON number in [0, 2^53]. exp rounds down, nbf/iat round up, so a
// fractional second never extends validity.
Check read_time(const cJSON* payload, const char* name, bool round_up, std::optional<int64_t>& out) {
    const cJSON* v = member(payload, name);
    if (!v) return std::nullopt;
    if (!cJSON_IsNumber(v)) return fail(AuthCode::token_claims, std::string(name) + " is not a number");
    double d = v->valuedouble;
    if (!std::isfinite(d) || d < 0 || d > kMaxNumericDate) return fail(AuthCode::token_claims, std::string(name) + " is out of range");
    out = static_cast<int64_t>(round_up ? std::ceil(d) : std::floor(d));
    return std::nullopt;
}

Check read_times(const cJSON* payload, const Policy& policy, Times& t) {
    if (auto e = read_time(payload, "exp", false, t.exp)) return e;
    if (auto e = read_time(payload, "nbf", true, t.nbf)) return e;
    if (auto e = read_time(payload, "iat", true, t.iat)) return e;
    if (policy.require_exp && !t.exp) return fail(AuthCode::token_claims, "exp is missing");
    return std::nullopt;
}

int64_t sat_add(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

Check check_times(const Times& t, int64_t now, const Policy& policy) {
    if (policy.clock_unsynced && t.any()) {
        if (policy.unsynced_mode == UnsyncedClock::skip_time_checks) return std::nullopt;
        return fail(AuthCode::token_not_yet_valid, "server clock is not synchronized");
    }
    int64_t leeway = std::clamp<int64_t>(policy.leeway_s, 0, kMaxLeewayS);
    if (t.exp && now >= sat_add(*t.exp, leeway)) return fail(AuthCode::token_expired, "now >= exp + leeway");
    if (t.nbf && sat_add(now, leeway) < *t.nbf) return fail(AuthCode::token_not_yet_valid, "now + leeway < nbf");
    if (t.iat && sat_add(now, leeway) < *t.iat) return fail(AuthCode::token_not_yet_valid, "now + leeway < iat");
    return std::nullopt;
}

Check check_issuer(const cJSON* payload, const Policy& policy) {
    if (policy.issuer.empty()) return std::nullopt;
    const cJSON* iss = member(payload, "iss");
    if (!cJSON_IsString(iss) || policy.issuer != iss->valuestring) return fail(AuthCode::token_issuer, "iss does not match");
    return std::nullopt;
}

Check check_audience(const cJSON* payload, const Policy& policy) {
    if (policy.audience.empty()) return std::nullopt;
    const cJSON* aud = member(payload, "aud");
    if (cJSON_IsString(aud)) {
        if (policy.audience == aud->valuestring) return std::nullopt;
    } else if (cJSON_IsArray(aud)) {
        bool found = false;
        for (const cJSON* a = aud->child; a; a = a->next) {
            if (!cJSON_IsString(a)) return fail(AuthCode::token_claims, "aud holds a non-string");
            found = found || policy.audience == a->valuestring;
        }
        if (found) return std::nullopt;
    } else if (aud) {
        return fail(AuthCode::token_claims, "aud is not a string or an array");
    }
    return fail(AuthCode::token_audience, "aud does not match");
}

Check read_user_id(const cJSON* payload, Identity& id) {
    const cJSON* sub = member(payload, "sub");
    const cJSON* v = sub ? sub : member(payload, "userId");
    const char* which = sub ? "sub" : "userId";
    if (!v) return fail(AuthCode::token_claims, "sub and userId are missing");
    if (!cJSON_IsString(v)) return fail(AuthCode::token_claims, std::string(which) + " is not a string");
    std::string_view s = v->valuestring;
    if (!is_valid_user_id(s)) return fail(AuthCode::token_claims, std::string(which) + " is not a valid user id");
    if (s == "system") return fail(AuthCode::token_claims, "user id \"system\" is reserved");
    id.user_id = s;
    return std::nullopt;
}

Check read_rooms(const cJSON* payload, Identity& id) {
    const cJSON* rooms = member(payload, "rooms");
    if (!rooms) return std::nullopt;
    if (!cJSON_IsArray(rooms)) return fail(AuthCode::token_claims, "rooms is not an array");
    for (const cJSON* r = rooms->child; r; r = r->next) {
        if (!cJSON_IsString(r) || !is_valid_room_pattern(r->valuestring))
            return fail(AuthCode::token_claims, "rooms holds an invalid pattern");
        if (id.rooms.size() == kMaxRoomPatterns) return fail(AuthCode::token_claims, "rooms has too many patterns");
        id.rooms.emplace_back(r->valuestring);
    }
    id.has_rooms_claim = true;
    return std::nullopt;
}

// Strict UTF-8 (core::utf8_sequence) and no control characters (C0, DEL, C1).
bool valid_display_text(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const size_t n = core::utf8_sequence(s, i);
        if (n == 0) return false;
        const auto c = static_cast<uint8_t>(s[i]);
        if (n == 1 && (c < 0x20 || c == 0x7f)) return false;
        if (n == 2 && c == 0xc2 && static_cast<uint8_t>(s[i + 1]) < 0xa0) return false; // U+0080..U+009F
        i += n;
    }
    return true;
}

Check read_profile(const cJSON* payload, Identity& id) {
    const cJSON* role = member(payload, "role");
    id.admin = cJSON_IsString(role) && std::strcmp(role->valuestring, "admin") == 0;
    const cJSON* name = member(payload, "name");
    if (!name) return std::nullopt;
    if (!cJSON_IsString(name)) return fail(AuthCode::token_claims, "name is not a string");
    std::string_view s = name->valuestring;
    if (!is_valid_display_name(s)) return fail(AuthCode::token_claims, "name is too long or not printable UTF-8");
    id.name = s;
    return std::nullopt;
}

Check check_claims(const cJSON* payload, int64_t now, const Policy& policy, Identity& id) {
    Times t;
    if (auto e = read_times(payload, policy, t)) return e;
    if (auto e = check_times(t, now, policy)) return e;
    if (auto e = check_issuer(payload, policy)) return e;
    if (auto e = check_audience(payload, policy)) return e;
    if (auto e = read_user_id(payload, id)) return e;
    if (auto e = read_rooms(payload, id)) return e;
    if (auto e = read_profile(payload, id)) return e;
    id.exp = t.exp;
    return std::nullopt;
}

bool is_user_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '@' || c == '-';
}

struct CodeInfo {
    std::string_view name;
    std::string_view message;
};
constexpr std::array<CodeInfo, kAuthCodeCount> kCodes{{
    {"token_missing", "token missing"},
    {"token_malformed", "token malformed"},
    {"token_signature", "token signature invalid"},
    {"token_algorithm", "token algorithm not accepted"},
    {"token_expired", "token expired"},
    {"token_not_yet_valid", "token not yet valid"},
    {"token_issuer", "token issuer not accepted"},
    {"token_audience", "token audience not accepted"},
    {"token_claims", "token claims invalid"},
}};
static_assert(!kCodes.back().name.empty(), "every AuthCode has a name and a message");

} // namespace

std::string_view auth_code_name(AuthCode code) {
    auto i = static_cast<size_t>(code);
    return i < kCodes.size() ? kCodes[i].name : "token_malformed";
}

std::string_view auth_code_message(AuthCode code) {
    auto i = static_cast<size_t>(code);
    return i < kCodes.size() ? kCodes[i].message : "token malformed";
}

Policy policy_from_settings(const settings::Auth& auth) {
    Policy p;
    p.leeway_s = auth.leeway_s;
    p.require_exp = auth.require_exp;
    p.issuer = auth.issuer;
    p.audience = auth.audience;
    p.unsynced_mode = auth.unsynced_clock == "skip_time_checks" ? UnsyncedClock::skip_time_checks : UnsyncedClock::reject;
    return p;
}

bool clock_looks_unsynced(int64_t now_s) { return now_s < core::kBuildEpochS; }

VerifyResult verify_with_settings(std::string_view token, const KeySet& keys, const settings::Auth& auth, int64_t now_s) {
    Policy policy = policy_from_settings(auth);
    policy.clock_unsynced = clock_looks_unsynced(now_s);
    return verify(token, keys, now_s, policy);
}

bool is_valid_user_id(std::string_view id) {
    return !id.empty() && id.size() <= kMaxUserIdBytes && std::all_of(id.begin(), id.end(), is_user_id_char);
}

bool is_valid_display_name(std::string_view name) { return name.size() <= kMaxNameBytes && valid_display_text(name); }

VerifyResult verify(std::string_view token, const KeySet& keys, int64_t now_s, const Policy& policy) {
    if (token.empty()) return fail(AuthCode::token_missing, "no token");
    if (token.size() > kMaxTokenBytes) return fail(AuthCode::token_malformed, "token over 8 KiB");
    Parts parts;
    if (!split(token, parts)) return fail(AuthCode::token_malformed, "not three parts");
    Json header, payload;
    if (auto e = parse_object(parts.header, "header", header)) return *e;
    if (auto e = parse_object(parts.payload, "payload", payload)) return *e;
    if (auto e = check_header(header.get(), keys.algorithm())) return *e;
    if (auto e = check_signature(parts, keys)) return *e;
    Identity id;
    if (auto e = check_claims(payload.get(), now_s, policy, id)) return *e;
    return id;
}

} // namespace outpost::auth
