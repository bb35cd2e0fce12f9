// mint.cpp - HS256 token minting and the `outpost token` argument parsers (see mint.h).
#include "auth/mint.h"

#include "auth/jwt.h"
#include "auth/rooms.h"
#include "auth/signature.h"
#include "core/base64.h"
#include "core/json_writer.h"

namespace outpost::auth {
namespace {

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

template <class T>
Result<T> bad(std::string message) {
    return Result<T>::fail(Status::invalid_argument, std::move(message));
}

// The first problem with `req`, or empty when it can be minted.
std::string request_problem(const MintRequest& req, int64_t now_s) {
    if (!is_valid_user_id(req.sub)) return "sub: expected 1-64 chars of [A-Za-z0-9_.@-]";
    if (req.sub == "system") return "sub: \"system\" is reserved";
    if (req.ttl_s < 1 || req.ttl_s > kMaxTtlS) return "ttl: expected 1 s to 10 years";
    if (now_s < 0) return "now: before the epoch";
    for (const auto& r : req.rooms)
        if (!is_valid_room_pattern(r)) return "rooms: \"" + r + "\" is not a room name or prefix*";
    if (!is_valid_display_name(req.name)) return "name: expected at most 128 bytes of printable UTF-8";
    return {};
}

void add_optional_string(core::JsonWriter& w, std::string_view key, const std::string& value) {
    if (!value.empty()) w.member(key, value);
}

std::string payload_json(const MintRequest& req, int64_t now_s) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_object().member("sub", req.sub).member("iat", now_s).member("exp", now_s + req.ttl_s);
    if (req.admin) w.member("role", "admin");
    if (req.has_rooms) {
        w.key("rooms").begin_array();
        for (const auto& r : req.rooms) w.string(r);
        w.end_array();
    }
    add_optional_string(w, "name", req.name);
    add_optional_string(w, "iss", req.issuer);
    add_optional_string(w, "aud", req.audience);
    w.end_object();
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

} // namespace

Result<std::string> mint_hs256(std::string_view secret, const MintRequest& req, int64_t now_s) {
    if (secret.empty()) return bad<std::string>("secret: empty");
    if (std::string why = request_problem(req, now_s); !why.empty()) return bad<std::string>(why);
    std::string payload = payload_json(req, now_s);
    if (payload.empty()) return Result<std::string>::fail(Status::internal, "cannot encode the payload");
    std::string token;
    core::base64url_encode(kHeader, token);
    token += '.';
    core::base64url_encode(payload, token);
    std::string mac = hmac_sha256(secret, token);
    if (mac.empty()) return Result<std::string>::fail(Status::internal, "HMAC-SHA256 failed");
    token += '.';
    core::base64url_encode(mac, token);
    return token;
}

Result<int64_t> parse_ttl(std::string_view text) {
    static constexpr size_t kMaxDigits = 12;
    static constexpr std::string_view kUnitNames = "smhd";
    static constexpr int64_t kUnits[] = {1, 60, 3600, 86400};
    int64_t unit = 1;
    if (size_t u = text.empty() ? std::string_view::npos : kUnitNames.find(text.back()); u != std::string_view::npos) {
        unit = kUnits[u];
        text.remove_suffix(1);
    }
    if (text.empty() || text.size() > kMaxDigits) return bad<int64_t>("ttl: expected e.g. 90s, 15m, 1h, 7d or seconds");
    int64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return bad<int64_t>("ttl: expected e.g. 90s, 15m, 1h, 7d or seconds");
        n = n * 10 + (c - '0');
    }
    if (n < 1 || n > kMaxTtlS / unit) return bad<int64_t>("ttl: expected 1 s to 10 years");
    return n * unit;
}

Result<std::vector<std::string>> parse_rooms_list(std::string_view text) {
    std::vector<std::string> out;
    if (trim(text).empty()) return out;
    for (;;) {
        size_t comma = text.find(',');
        std::string_view entry = trim(text.substr(0, comma));
        if (!is_valid_room_pattern(entry))
            return bad<std::vector<std::string>>("rooms: \"" + std::string(entry) + "\" is not a room name or prefix*");
        out.emplace_back(entry);
        if (comma == std::string_view::npos) return out;
        text.remove_prefix(comma + 1);
    }
}

} // namespace outpost::auth
