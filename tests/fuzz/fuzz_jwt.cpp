// fuzz_jwt.cpp - libFuzzer target for auth::verify() with a fixed HS256 key and a fixed ES256 key.
// Byte 0 picks the policy and the mode: raw (the rest is a compact token, checked against both
// keys) or signed (the rest is "header JSON\npayload JSON", base64url-encoded and HMAC-signed here
// so the claim checks behind the signature are reached too).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "auth/rooms.h"
#include "auth/signature.h"
#include "core/base64.h"

namespace {

using namespace outpost::auth;

constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-secret!";
constexpr std::string_view kEs256Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUTrBdxxSbXJzlLndvqHp9tYh8GEd\n"
    "Go8K7uwzhQZgV9k35UEGCNzvSjzc2km3+AjLLmbO4s0VmbYuUQ74Wyyv+A==\n"
    "-----END PUBLIC KEY-----\n";
constexpr int64_t kNow = 1700000000;

const KeySet& hs_keys() {
    static const KeySet k = KeySet::hs256(kSecret, "fuzz");
    return k;
}

const KeySet& es_keys() {
    static const KeySet k = std::move(KeySet::from_public_pem(Algorithm::es256, kEs256Pem, "fuzz").value());
    return k;
}

Policy policy_from(uint8_t bits) {
    Policy p;
    p.require_exp = (bits & 0x02) != 0;
    if (bits & 0x04) p.issuer = "iss";
    if (bits & 0x08) p.audience = "aud";
    p.clock_unsynced = (bits & 0x10) != 0;
    p.unsynced_mode = (bits & 0x20) ? UnsyncedClock::skip_time_checks : UnsyncedClock::reject;
    p.leeway_s = (bits & 0x40) ? 0 : 30;
    return p;
}

std::string sign(std::string_view text) {
    size_t nl = text.find('\n');
    std::string token;
    outpost::core::base64url_encode(text.substr(0, nl), token);
    token += '.';
    outpost::core::base64url_encode(nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1), token);
    std::string mac = hmac_sha256(kSecret, token);
    token += '.';
    outpost::core::base64url_encode(mac, token);
    return token;
}

void use(const VerifyResult& r) {
    if (!r.ok()) {
        (void)auth_code_name(r.code());
        return;
    }
    (void)may_join(*r, "lobby", {"*"});
    for (const auto& pattern : r->rooms) (void)pattern_matches(pattern, "site:1");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    Policy policy = policy_from(data[0]);
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    if (data[0] & 0x01) {
        use(verify(sign(rest), hs_keys(), kNow, policy));
        return 0;
    }
    use(verify(rest, hs_keys(), kNow, policy));
    use(verify(rest, es_keys(), kNow, policy));
    return 0;
}
