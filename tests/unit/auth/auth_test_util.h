// auth_test_util.h - Helpers for the auth unit tests: hand-built HS256 tokens and fixture loading.
// Owns: nothing the library uses. Never: shared with other test binaries.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "auth/signature.h"
#include "core/base64.h"

namespace outpost::auth::test {

inline constexpr int64_t kNow = 1700000000;
inline constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef-test-secret";

inline std::string b64(std::string_view raw) {
    std::string out;
    core::base64url_encode(raw, out);
    return out;
}

inline std::string unb64(std::string_view text) {
    std::string out;
    core::base64url_decode(text, out);
    return out;
}

// header.payload.signature with the two JSON texts taken verbatim (duplicates, odd types...).
inline std::string sign_hs256(std::string_view header_json, std::string_view payload_json,
                              std::string_view secret = kSecret) {
    std::string input = b64(header_json) + "." + b64(payload_json);
    return input + "." + b64(hmac_sha256(secret, input));
}

inline std::string hs_token(std::string_view payload_json) {
    return sign_hs256(R"({"alg":"HS256","typ":"JWT"})", payload_json);
}

// A payload with sub alice and exp one hour after kNow, plus `extra` members (",\"k\":v").
inline std::string payload(std::string_view extra = "") {
    return std::string(R"({"sub":"alice","exp":)") + std::to_string(kNow + 3600) + std::string(extra) + "}";
}

inline std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline std::string data_path(std::string_view name) { return std::string(OUTPOST_TEST_DATA_DIR) + "/" + std::string(name); }

inline std::string code_of(const VerifyResult& r) { return r.ok() ? "ok" : std::string(auth_code_name(r.code())); }

} // namespace outpost::auth::test
