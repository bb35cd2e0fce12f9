// settings_test.cpp - Unit tests for the configuration loader (PROTOCOL.md §12).
// Owns: table-driven cases for every key's type, range and choices, the document-level
// errors, cross-key rules, file loading and the shipped config/ files.
#include "settings/settings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace outpost::settings {
namespace {

namespace fs = std::filesystem;

Result<Settings> parse(const std::string& json) { return parse_settings(json, "config.json"); }

// {"a":{"b":V}} for "a.b"; a rate limit's other half is filled in so only V is under test.
std::string nested(const std::string& path, const std::string& value) {
    std::string json = value;
    std::string rest = path;
    bool rate_limit = path.starts_with("rate_limits.") && std::count(path.begin(), path.end(), '.') == 2;
    for (size_t dot = rest.rfind('.');; dot = rest.rfind('.')) {
        std::string name = dot == std::string::npos ? rest : rest.substr(dot + 1);
        std::string sibling;
        if (rate_limit && (name == "burst" || name == "per_ms"))
            sibling = name == "burst" ? ",\"per_ms\":1000" : ",\"burst\":1";
        json = "{\"" + name + "\":" + json + sibling + "}";
        if (dot == std::string::npos) break;
        rest.resize(dot);
    }
    return json;
}

std::string error_of(const Result<Settings>& r) { return r.ok() ? std::string("<ok>") : r.error().message; }

// ---- Defaults and the shipped files

TEST(Settings, EmptyObjectGivesTheDocumentedDefaults) {
    auto r = parse("{}");
    ASSERT_TRUE(r.ok()) << error_of(r);
    const Settings& s = *r;
    EXPECT_EQ(s.source, "config.json");
    EXPECT_EQ(s.host, "0.0.0.0");
    EXPECT_EQ(s.port, 3000);
    EXPECT_EQ(s.data_dir, "./var");
    EXPECT_EQ(s.log_level, "info");
    EXPECT_EQ(s.max_connections, 10000);
    EXPECT_TRUE(s.allow_eio3);
    EXPECT_EQ(s.ping_interval_ms, 25000);
    EXPECT_EQ(s.ping_timeout_ms, 20000);
    EXPECT_EQ(s.max_payload, 1000000);
    EXPECT_EQ(s.connect_timeout_ms, 45000);
    EXPECT_EQ(s.cors_origins, std::vector<std::string>{"*"});
    EXPECT_EQ(s.auth.algorithm, "HS256");
    EXPECT_EQ(s.auth.leeway_s, 30);
    EXPECT_EQ(s.auth.default_rooms, std::vector<std::string>{"*"});
    EXPECT_EQ(s.presence.grace_ms, 5000);
    EXPECT_EQ(s.rate_limits.connect_per_ip, (RateLimit{60, 60000}));
    EXPECT_EQ(s.rate_limits.message, (RateLimit{30, 10000}));
    EXPECT_EQ(s.limits.replay_max, 1000);
    EXPECT_EQ(s.retention.max_db_bytes, 268435456);
    EXPECT_EQ(s.shutdown_timeout_ms, 10000);
    Settings defaults;
    defaults.source = "config.json";
    EXPECT_TRUE(s == defaults);
}

// OUTPOST_TEST_DATA_DIR is <repo>/tests/unit/settings/data.
fs::path repo_root() { return fs::path(OUTPOST_TEST_DATA_DIR).parent_path().parent_path().parent_path().parent_path(); }

TEST(Settings, ShippedExampleConfigIsExactlyTheDefaults) {
    std::string path = (repo_root() / "config" / "outpost.json").string();
    auto r = load_settings_file(path);
    ASSERT_TRUE(r.ok()) << error_of(r);
    Settings expected;
    expected.data_dir = "/var/lib/outpost";
    expected.source = path;
    EXPECT_TRUE(*r == expected) << "config/outpost.json drifted from the defaults of §12";
}

TEST(Settings, ShippedConformanceConfigMatchesSection11) {
    std::string path = (repo_root() / "config" / "conformance.json").string();
    auto r = load_settings_file(path);
    ASSERT_TRUE(r.ok()) << error_of(r);
    EXPECT_TRUE(r->conformance);
    EXPECT_EQ(r->ping_interval_ms, 300);
    EXPECT_EQ(r->ping_timeout_ms, 200);
    EXPECT_EQ(r->max_payload, 1000000);
    EXPECT_EQ(r->connect_timeout_ms, 1000);
    EXPECT_EQ(r->cors_origins, std::vector<std::string>{"*"});
    EXPECT_EQ(r->port, 3000);
    EXPECT_EQ(r->data_dir, "./var/conformance");
    EXPECT_EQ(r->source, path);
}

// ---- Every integer key: both ends accepted and applied, one step beyond refused.

struct IntKey {
    const char* path;
    int64_t min;
    int64_t max;
    std::function<int64_t(const Settings&)> get;
};

const IntKey kIntKeys[] = {
    {"port", 0, 65535, [](const Settings& s) { return s.port; }},
    {"max_connections", 1, 1000000, [](const Settings& s) { return s.max_connections; }},
    {"ping_interval_ms", 1, 3600000, [](const Settings& s) { return s.ping_interval_ms; }},
    {"ping_timeout_ms", 1, 3600000, [](const Settings& s) { return s.ping_timeout_ms; }},
    {"max_payload", 1024, 100000000, [](const Settings& s) { return s.max_payload; }},
    {"connect_timeout_ms", 1, 3600000, [](const Settings& s) { return s.connect_timeout_ms; }},
    {"shutdown_timeout_ms", 0, 600000, [](const Settings& s) { return s.shutdown_timeout_ms; }},
    {"auth.leeway_s", 0, 86400, [](const Settings& s) { return s.auth.leeway_s; }},
    {"auth.refresh_warning_s", 0, 86400, [](const Settings& s) { return s.auth.refresh_warning_s; }},
    {"presence.grace_ms", 0, 3600000, [](const Settings& s) { return s.presence.grace_ms; }},
    {"rate_limits.typing.burst", 1, 1000000, [](const Settings& s) { return s.rate_limits.typing.burst; }},
    {"rate_limits.typing.per_ms", 1, 86400000, [](const Settings& s) { return s.rate_limits.typing.per_ms; }},
    {"rate_limits.room.burst", 1, 1000000, [](const Settings& s) { return s.rate_limits.room.burst; }},
    {"rate_limits.room.per_ms", 1, 86400000, [](const Settings& s) { return s.rate_limits.room.per_ms; }},
    {"rate_limits.presence.burst", 1, 1000000, [](const Settings& s) { return s.rate_limits.presence.burst; }},
    {"rate_limits.presence.per_ms", 1, 86400000, [](const Settings& s) { return s.rate_limits.presence.per_ms; }},
    {"rate_limits.message.burst", 1, 1000000, [](const Settings& s) { return s.rate_limits.message.burst; }},
    {"rate_limits.message.per_ms", 1, 86400000, [](const Settings& s) { return s.rate_limits.message.per_ms; }},
    {"rate_limits.default.burst", 1, 1000000, [](const Settings& s) { return s.rate_limits.default_.burst; }},
    {"rate_limits.default.per_ms", 1, 86400000, [](const Settings& s) { return s.rate_limits.default_.per_ms; }},
    {"rate_limits.connect_per_ip.burst", 1, 1000000,
     [](const Settings& s) { return s.rate_limits.connect_per_ip.burst; }},
    {"rate_limits.connect_per_ip.per_ms", 1, 86400000,
     [](const Settings& s) { return s.rate_limits.connect_per_ip.per_ms; }},
    {"limits.max_body", 1, 100000000, [](const Settings& s) { return s.limits.max_body; }},
    {"limits.max_send_queue_bytes", 1, 4294967296, [](const Settings& s) { return s.limits.max_send_queue_bytes; }},
    {"limits.max_members_per_room", 1, 1000000, [](const Settings& s) { return s.limits.max_members_per_room; }},
    {"limits.max_rooms_per_user", 1, 1000000, [](const Settings& s) { return s.limits.max_rooms_per_user; }},
    {"limits.max_dm_rooms_per_user", 1, 1000000, [](const Settings& s) { return s.limits.max_dm_rooms_per_user; }},
    {"limits.replay_max", 1, 1000000, [](const Settings& s) { return s.limits.replay_max; }},
    {"storage.commit_interval_ms", 0, 10000, [](const Settings& s) { return s.storage.commit_interval_ms; }},
    {"storage.commit_batch", 1, 100000, [](const Settings& s) { return s.storage.commit_batch; }},
    {"retention.max_messages_per_room", 1, 1000000000,
     [](const Settings& s) { return s.retention.max_messages_per_room; }},
    {"retention.max_age_s", 1, 3153600000, [](const Settings& s) { return s.retention.max_age_s; }},
    {"retention.max_db_bytes", 1, 1099511627776, [](const Settings& s) { return s.retention.max_db_bytes; }},
};

TEST(Settings, IntegerKeysAcceptTheirRangeAndRefuseBeyondIt) {
    for (const IntKey& k : kIntKeys) {
        SCOPED_TRACE(k.path);
        for (int64_t v : {k.min, k.max}) {
            auto r = parse(nested(k.path, std::to_string(v)));
            ASSERT_TRUE(r.ok()) << error_of(r);
            EXPECT_EQ(k.get(*r), v);
        }
        std::string expected = std::string("config.json: \"") + k.path + "\": expected an integer from " +
                               std::to_string(k.min) + " to " + std::to_string(k.max) + ", got ";
        for (int64_t v : {k.min - 1, k.max + 1}) {
            auto r = parse(nested(k.path, std::to_string(v)));
            ASSERT_FALSE(r.ok());
            EXPECT_EQ(r.status(), Status::invalid_argument);
            EXPECT_EQ(r.error().message, expected + std::to_string(v));
        }
        for (const char* wrong : {"1.5", "\"7\"", "true", "null", "[1]", "{}"}) {
            auto r = parse(nested(k.path, wrong));
            ASSERT_FALSE(r.ok()) << wrong;
            EXPECT_EQ(r.error().message, expected + wrong);
        }
    }
}

TEST(Settings, IntegralNumbersInOtherSpellingsAreIntegers) {
    for (const char* spelling : {"300.0", "3e2", "3.0E+2"}) {
        auto r = parse(nested("ping_interval_ms", spelling));
        ASSERT_TRUE(r.ok()) << spelling << ": " << error_of(r);
        EXPECT_EQ(r->ping_interval_ms, 300);
    }
    EXPECT_FALSE(parse(nested("port", "1e400")).ok()); // infinity
    EXPECT_FALSE(parse(nested("port", "-0.5")).ok());
}

// ---- Strings, booleans, lists and choices

struct GoodCase {
    const char* json;
    std::function<bool(const Settings&)> check;
};

const GoodCase kGoodCases[] = {
    {R"({"host": "127.0.0.1"})", [](const Settings& s) { return s.host == "127.0.0.1"; }},
    {R"({"data_dir": "/tmp/x"})", [](const Settings& s) { return s.data_dir == "/tmp/x"; }},
    {R"({"allow_eio3": false})", [](const Settings& s) { return !s.allow_eio3; }},
    {R"({"metrics_auth": true})", [](const Settings& s) { return s.metrics_auth; }},
    {R"({"conformance": true})", [](const Settings& s) { return s.conformance; }},
    {R"({"serve_client": false})", [](const Settings& s) { return !s.serve_client; }},
    {R"({"admin_token": "t0k"})", [](const Settings& s) { return s.admin_token == "t0k"; }},
    {R"({"admin_token": ""})", [](const Settings& s) { return s.admin_token.empty(); }},
    {R"({"cors_origins": ["https://a.example", "https://b.example"]})",
     [](const Settings& s) { return s.cors_origins == std::vector<std::string>{"https://a.example", "https://b.example"}; }},
    {R"({"cors_origins": []})", [](const Settings& s) { return s.cors_origins.empty(); }},
    {R"({"auth": {"default_rooms": ["lobby", "team:*"]}})",
     [](const Settings& s) { return s.auth.default_rooms == std::vector<std::string>{"lobby", "team:*"}; }},
    {R"({"auth": {"require_exp": false, "issuer": "iss", "audience": "aud"}})",
     [](const Settings& s) { return !s.auth.require_exp && s.auth.issuer == "iss" && s.auth.audience == "aud"; }},
    {R"({"auth": {"hs256_secret": "s3cret"}})", [](const Settings& s) { return s.auth.hs256_secret == "s3cret"; }},
    {R"({"auth": {"hs256_secret_file": "/k"}})", [](const Settings& s) { return s.auth.hs256_secret_file == "/k"; }},
    {R"({"auth": {"algorithm": "RS256", "public_key_file": "/k.pem"}})",
     [](const Settings& s) { return s.auth.algorithm == "RS256" && s.auth.public_key_file == "/k.pem"; }},
    {R"({"auth": {"algorithm": "ES256", "public_key_file": "/k.pem"}})",
     [](const Settings& s) { return s.auth.algorithm == "ES256"; }},
    {R"({"tls": {"cert_file": "/c.pem", "key_file": "/k.pem"}})",
     [](const Settings& s) { return s.tls.cert_file == "/c.pem" && s.tls.key_file == "/k.pem"; }},
    {R"({"rate_limits": {"typing": {"per_ms": 7, "burst": 3}}})",
     [](const Settings& s) { return s.rate_limits.typing == RateLimit{3, 7} && s.rate_limits.room == RateLimit{5, 10000}; }},
    {R"({"auth": {}, "presence": {}, "rate_limits": {}, "limits": {}, "storage": {}, "retention": {}, "tls": {}})",
     [](const Settings& s) { return s.auth.leeway_s == 30 && s.storage.commit_batch == 256; }},
    {"\xEF\xBB\xBF{\"port\": 1}", [](const Settings& s) { return s.port == 1; }}, // UTF-8 byte order mark
    {" \n\t{\"port\": 2}\n\n", [](const Settings& s) { return s.port == 2; }},
};

TEST(Settings, ValidDocumentsAreApplied) {
    for (const GoodCase& c : kGoodCases) {
        auto r = parse(c.json);
        ASSERT_TRUE(r.ok()) << c.json << ": " << error_of(r);
        EXPECT_TRUE(c.check(*r)) << c.json;
    }
}

struct ChoiceKey {
    const char* path;
    std::vector<std::string> allowed;
    std::function<std::string(const Settings&)> get;
    const char* extra; // keys the choice needs to be valid on its own
};

std::string swap_case(std::string s) {
    for (char& c : s) {
        auto u = static_cast<unsigned char>(c);
        c = static_cast<char>(std::isupper(u) ? std::tolower(u) : std::toupper(u));
    }
    return s;
}

const ChoiceKey kChoiceKeys[] = {
    {"log_level", {"debug", "info", "warn", "error"}, [](const Settings& s) { return s.log_level; }, ""},
    {"auth.algorithm", {"HS256", "RS256", "ES256"}, [](const Settings& s) { return s.auth.algorithm; },
     ",\"public_key_file\":\"/k.pem\""},
    {"auth.unsynced_clock", {"reject", "skip_time_checks"}, [](const Settings& s) { return s.auth.unsynced_clock; }, ""},
    {"presence.scope", {"global", "rooms"}, [](const Settings& s) { return s.presence.scope; }, ""},
    {"storage.synchronous", {"full", "normal"}, [](const Settings& s) { return s.storage.synchronous; }, ""},
};

TEST(Settings, ChoiceKeysAcceptOnlyTheirValues) {
    for (const ChoiceKey& k : kChoiceKeys) {
        SCOPED_TRACE(k.path);
        std::string list;
        for (const std::string& v : k.allowed) {
            std::string json = nested(k.path, "\"" + v + "\"");
            if (*k.extra) json.insert(json.find('}'), k.extra);
            auto r = parse(json);
            ASSERT_TRUE(r.ok()) << json << ": " << error_of(r);
            EXPECT_EQ(k.get(*r), v);
            list += (list.empty() ? "\"" : ", \"") + v + "\"";
        }
        for (std::string wrong : {std::string("\"bogus\""), "\"" + swap_case(k.allowed[0]) + "\"", std::string("\"\""),
                                  std::string("1")}) {
            auto r = parse(nested(k.path, wrong));
            ASSERT_FALSE(r.ok()) << wrong;
            EXPECT_EQ(r.error().message,
                      std::string("config.json: \"") + k.path + "\": expected one of " + list + ", got " + wrong);
        }
    }
}

// ---- Refusals: each names the file and the key.

struct BadCase {
    const char* json;
    Status status;
    const char* message; // the whole message
};

const BadCase kBadCases[] = {
    // Not a JSON object, or not JSON at all.
    {"", Status::malformed, "config.json: invalid JSON near line 1, column 1 (byte 0)"},
    {"{\"port\": 3000,}", Status::malformed, "config.json: invalid JSON near line 1, column 16 (byte 15)"},
    {"{\n  \"port\": 3000\n  \"host\": \"x\"\n}", Status::malformed,
     "config.json: invalid JSON near line 3, column 3 (byte 19)"},
    {"{} {}", Status::malformed, "config.json: invalid JSON near line 1, column 4 (byte 3)"},
    {"{\"port\": 1} // comment", Status::malformed, "config.json: invalid JSON near line 1, column 13 (byte 12)"},
    {"[]", Status::invalid_argument, "config.json: expected a JSON object at the top level, got []"},
    {"42", Status::invalid_argument, "config.json: expected a JSON object at the top level, got 42"},
    {"null", Status::invalid_argument, "config.json: expected a JSON object at the top level, got null"},
    // Unknown keys, at every level.
    {R"({"prot": 3000})", Status::invalid_argument, R"(config.json: "prot": unknown key)"},
    {R"({"Port": 3000})", Status::invalid_argument, R"(config.json: "Port": unknown key)"},
    {R"({"source": "x"})", Status::invalid_argument, R"(config.json: "source": unknown key)"},
    {R"({"auth": {"foo": 1}})", Status::invalid_argument, R"(config.json: "auth.foo": unknown key)"},
    {R"({"auth.leeway_s": 5})", Status::invalid_argument, R"(config.json: "auth.leeway_s": unknown key)"},
    {R"({"tls": {"ca_file": "/x"}})", Status::invalid_argument, R"(config.json: "tls.ca_file": unknown key)"},
    {R"({"rate_limits": {"chat": {"burst": 1, "per_ms": 1}}})", Status::invalid_argument,
     R"(config.json: "rate_limits.chat": unknown key)"},
    {R"({"rate_limits": {"default_": {"burst": 1, "per_ms": 1}}})", Status::invalid_argument,
     R"(config.json: "rate_limits.default_": unknown key)"},
    {R"({"rate_limits": {"typing": {"burst": 1, "per_ms": 1, "jitter": 0}}})", Status::invalid_argument,
     R"(config.json: "rate_limits.typing.jitter": unknown key)"},
    {R"({"": 1})", Status::invalid_argument, R"(config.json: "": unknown key)"},
    // Duplicate keys.
    {R"({"port": 1, "port": 2})", Status::invalid_argument, R"(config.json: "port": duplicate key)"},
    {R"({"auth": {"leeway_s": 1, "leeway_s": 1}})", Status::invalid_argument,
     R"(config.json: "auth.leeway_s": duplicate key)"},
    {R"({"auth": {}, "auth": {}})", Status::invalid_argument, R"(config.json: "auth": duplicate key)"},
    {R"({"rate_limits": {"room": {"burst": 1, "per_ms": 1, "burst": 2}}})", Status::invalid_argument,
     R"(config.json: "rate_limits.room.burst": duplicate key)"},
    // Wrong types.
    {R"({"ping_interval_ms": "abc"})", Status::invalid_argument,
     R"(config.json: "ping_interval_ms": expected an integer from 1 to 3600000, got "abc")"},
    {R"({"port": 1.5})", Status::invalid_argument,
     R"(config.json: "port": expected an integer from 0 to 65535, got 1.5)"},
    {R"({"allow_eio3": 1})", Status::invalid_argument, R"(config.json: "allow_eio3": expected true or false, got 1)"},
    {R"({"conformance": "true"})", Status::invalid_argument,
     R"(config.json: "conformance": expected true or false, got "true")"},
    {R"({"auth": {"require_exp": null}})", Status::invalid_argument,
     R"(config.json: "auth.require_exp": expected true or false, got null)"},
    {R"({"host": ""})", Status::invalid_argument, R"(config.json: "host": expected a non-empty string, got "")"},
    {R"({"host": 127})", Status::invalid_argument, R"(config.json: "host": expected a non-empty string, got 127)"},
    {R"({"data_dir": ""})", Status::invalid_argument, R"(config.json: "data_dir": expected a non-empty string, got "")"},
    {R"({"admin_token": 5})", Status::invalid_argument, R"(config.json: "admin_token": expected a string, got 5)"},
    {R"({"auth": {"issuer": ["a"]}})", Status::invalid_argument,
     R"(config.json: "auth.issuer": expected a string, got ["a"])"},
    {R"({"tls": {"cert_file": false}})", Status::invalid_argument,
     R"(config.json: "tls.cert_file": expected a string, got false)"},
    {R"({"cors_origins": "*"})", Status::invalid_argument,
     R"(config.json: "cors_origins": expected an array of non-empty strings, got "*")"},
    {R"({"cors_origins": ["a", 5]})", Status::invalid_argument,
     R"(config.json: "cors_origins[1]": expected a non-empty string, got 5)"},
    {R"({"cors_origins": [""]})", Status::invalid_argument,
     R"(config.json: "cors_origins[0]": expected a non-empty string, got "")"},
    {R"({"auth": {"default_rooms": [null]}})", Status::invalid_argument,
     R"(config.json: "auth.default_rooms[0]": expected a non-empty string, got null)"},
    {R"({"auth": {"default_rooms": {}}})", Status::invalid_argument,
     R"(config.json: "auth.default_rooms": expected an array of non-empty strings, got {})"},
    {R"({"auth": "HS256"})", Status::invalid_argument, R"(config.json: "auth": expected an object, got "HS256")"},
    {R"({"limits": []})", Status::invalid_argument, R"(config.json: "limits": expected an object, got [])"},
    {R"({"rate_limits": 5})", Status::invalid_argument, R"(config.json: "rate_limits": expected an object, got 5)"},
    {R"({"rate_limits": {"typing": 10}})", Status::invalid_argument,
     R"(config.json: "rate_limits.typing": expected an object with exactly "burst" and "per_ms", got 10)"},
    {R"({"rate_limits": {"typing": {"burst": 10}}})", Status::invalid_argument,
     R"(config.json: "rate_limits.typing": expected an object with exactly "burst" and "per_ms", got {"burst":10})"},
    {R"({"rate_limits": {"connect_per_ip": {}}})", Status::invalid_argument,
     R"(config.json: "rate_limits.connect_per_ip": expected an object with exactly "burst" and "per_ms", got {})"},
    // Cross-key rules.
    {R"({"tls": {"cert_file": "/c.pem"}})", Status::invalid_argument,
     R"(config.json: "tls.cert_file" and "tls.key_file" must be set together (both or neither))"},
    {R"({"tls": {"key_file": "/k.pem", "cert_file": ""}})", Status::invalid_argument,
     R"(config.json: "tls.cert_file" and "tls.key_file" must be set together (both or neither))"},
    {R"({"auth": {"algorithm": "RS256"}})", Status::invalid_argument,
     R"(config.json: "auth.algorithm" RS256 and ES256 require "auth.public_key_file")"},
    {R"({"auth": {"algorithm": "ES256", "public_key_file": ""}})", Status::invalid_argument,
     R"(config.json: "auth.algorithm" RS256 and ES256 require "auth.public_key_file")"},
    {R"({"auth": {"hs256_secret": "a", "hs256_secret_file": "/b"}})", Status::invalid_argument,
     R"(config.json: "auth.hs256_secret" and "auth.hs256_secret_file" cannot both be set)"},
};

TEST(Settings, BadDocumentsAreRefusedWithFileAndKey) {
    for (const BadCase& c : kBadCases) {
        auto r = parse(c.json);
        ASSERT_FALSE(r.ok()) << c.json;
        EXPECT_EQ(r.status(), c.status) << c.json;
        EXPECT_EQ(r.error().message, c.message) << c.json;
    }
}

TEST(Settings, EmbeddedNulByteIsInvalidJson) {
    std::string json("{\"port\": 1}\0{}", 14);
    auto r = parse(json);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::malformed);
    EXPECT_EQ(r.error().message, "config.json: invalid JSON at line 1, column 12 (byte 11): NUL byte");
}

TEST(Settings, EscapedNulIsRefusedRatherThanCuttingTheString) {
    auto r = parse(R"({"auth": {"hs256_secret": "abc\u0000def"}})");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::malformed);
    EXPECT_EQ(r.error().message, R"(config.json: unsupported JSON at line 1, column 31 (byte 30): "\u0000" in a string)");
    auto escaped_backslash = parse(R"({"admin_token": "a\\u0000"})"); // a backslash, then "u0000"
    ASSERT_TRUE(escaped_backslash.ok()) << error_of(escaped_backslash);
    EXPECT_EQ(escaped_backslash->admin_token, "a\\u0000");
}

TEST(Settings, LongOffendingValuesAreShortened) {
    std::string big(500, 'x');
    auto r = parse("{\"port\": \"" + big + "\"}");
    ASSERT_FALSE(r.ok());
    EXPECT_LT(r.error().message.size(), 120u) << r.error().message;
    EXPECT_TRUE(r.error().message.ends_with(", got \"" + std::string(36, 'x') + "...")) << r.error().message;
}

TEST(Settings, TheFirstErrorWinsAndNothingIsHalfApplied) {
    auto r = parse(R"({"port": 1, "bogus": 2, "host": 3})");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, R"(config.json: "bogus": unknown key)");
}

// ---- Files

class SettingsFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("outpost-settings-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        fs::path p = dir_ / name;
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
    fs::path dir_;
};

TEST_F(SettingsFile, LoadsAndRecordsTheSource) {
    std::string path = write("a.json", R"({"port": 4000})");
    auto r = load_settings_file(path);
    ASSERT_TRUE(r.ok()) << error_of(r);
    EXPECT_EQ(r->port, 4000);
    EXPECT_EQ(r->source, path);
}

TEST_F(SettingsFile, ErrorsNameThePath) {
    std::string path = write("bad.json", R"({"auth": {"leeway_s": -1}})");
    auto r = load_settings_file(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, path + R"(: "auth.leeway_s": expected an integer from 0 to 86400, got -1)");
}

TEST_F(SettingsFile, MissingFileIsNotFound) {
    std::string path = (dir_ / "nope.json").string();
    auto r = load_settings_file(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::not_found);
    EXPECT_EQ(r.error().message, path + ": cannot read the configuration file: No such file or directory");
}

TEST_F(SettingsFile, DirectoryIsAnIoError) {
    auto r = load_settings_file(dir_.string());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::io_error);
    EXPECT_EQ(r.error().message.rfind(dir_.string() + ": cannot read the configuration file", 0), 0u) << r.error().message;
}

TEST_F(SettingsFile, OversizedFileIsRefused) {
    std::string path = write("big.json", "{\"host\": \"" + std::string(1024 * 1024, 'h') + "\"}");
    auto r = load_settings_file(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::io_error);
    EXPECT_NE(r.error().message.find("(limit 1048576 bytes): File too large"), std::string::npos) << r.error().message;
}

TEST_F(SettingsFile, JustUnderTheCapLoads) {
    std::string head = "{\"host\": \"";
    std::string tail = "\"}";
    std::string path = write("edge.json", head + std::string(1024 * 1024 - head.size() - tail.size(), 'h') + tail);
    auto r = load_settings_file(path);
    ASSERT_TRUE(r.ok()) << error_of(r);
    EXPECT_EQ(r->host.size(), 1024u * 1024 - head.size() - tail.size());
}

// ---- Live and restart-only keys

// The set a reload leaves alone is the one main.cpp used to list by hand: host, port,
// max_connections, data_dir, conformance and both TLS files.
TEST(SettingsReload, RestartOnlyKeysKeepTheirRunningValues) {
    Settings running;
    auto next = parse(R"({"host": "127.0.0.1", "port": 4000, "max_connections": 5, "data_dir": "/tmp/x",
        "conformance": true, "tls": {"cert_file": "c.pem", "key_file": "k.pem"},
        "ping_interval_ms": 1234, "log_level": "debug", "limits": {"replay_max": 7},
        "auth": {"leeway_s": 9}, "rate_limits": {"typing": {"burst": 3, "per_ms": 100}}})");
    ASSERT_TRUE(next.ok()) << error_of(next);
    EXPECT_TRUE(needs_restart(running, *next));
    Settings applied = keep_restart_settings(running, *next);
    EXPECT_EQ(applied.host, running.host);
    EXPECT_EQ(applied.port, running.port);
    EXPECT_EQ(applied.max_connections, running.max_connections);
    EXPECT_EQ(applied.data_dir, running.data_dir);
    EXPECT_EQ(applied.conformance, running.conformance);
    EXPECT_EQ(applied.tls, running.tls);
    // Everything else is live.
    EXPECT_EQ(applied.ping_interval_ms, 1234);
    EXPECT_EQ(applied.log_level, "debug");
    EXPECT_EQ(applied.limits.replay_max, 7);
    EXPECT_EQ(applied.auth.leeway_s, 9);
    EXPECT_EQ(applied.rate_limits.typing, (RateLimit{3, 100}));
    EXPECT_EQ(applied.source, "config.json");
    EXPECT_FALSE(needs_restart(running, applied));
}

TEST(SettingsReload, LiveChangesAloneNeedNoRestart) {
    auto next = parse(R"({"ping_timeout_ms": 999, "cors_origins": ["https://a"], "admin_token": "t"})");
    ASSERT_TRUE(next.ok()) << error_of(next);
    EXPECT_FALSE(needs_restart(Settings(), *next));
    EXPECT_EQ(keep_restart_settings(Settings(), *next), *next);
}

TEST(SettingsReload, EachRestartOnlyKeyAloneNeedsARestart) {
    for (const char* doc : {R"({"host": "::1"})", R"({"port": 1})", R"({"max_connections": 2})", R"({"data_dir": "d"})",
                            R"({"conformance": true})", R"({"storage": {"commit_batch": 7}})",
                            R"({"retention": {"max_age_s": 60}})", R"({"tls": {"cert_file": "c", "key_file": "k"}})"}) {
        auto next = parse(doc);
        ASSERT_TRUE(next.ok()) << doc << ": " << error_of(next);
        EXPECT_TRUE(needs_restart(Settings(), *next)) << doc;
    }
}

TEST(SettingsReload, RestartKeysAreNamedByTopLevelKey) {
    // The reload_partial log line says exactly what main.cpp wrote by hand before.
    EXPECT_EQ(restart_keys(), "host, port, max_connections, data_dir, conformance, storage, retention and tls");
}

} // namespace
} // namespace outpost::settings
