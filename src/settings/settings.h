// settings.h - The typed configuration of Outpost (PROTOCOL.md §12) and its loader.
// Owns: the Settings struct, its defaults, JSON parsing and validation (table-driven), and which
// keys a reload applies and which need a restart (declared in the same table).
// Never: opens sockets, touches storage, or reads the environment except where §12 says
// (OUTPOST_JWT_SECRET is applied by the auth key loader, not here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace outpost::settings {

struct RateLimit {
    int64_t burst = 0;  // tokens in a full bucket
    int64_t per_ms = 0; // `burst` tokens are refilled every `per_ms` milliseconds

    bool operator==(const RateLimit&) const = default;
};

struct RateLimits {
    RateLimit typing{10, 1000};
    RateLimit room{5, 10000};
    RateLimit presence{20, 60000};
    RateLimit message{30, 10000};
    RateLimit default_{100, 60000}; // JSON key "default"
    RateLimit connect_per_ip{60, 60000};

    bool operator==(const RateLimits&) const = default;
};

struct Auth {
    std::string algorithm = "HS256"; // HS256 | RS256 | ES256
    std::string hs256_secret;        // empty: not configured
    std::string hs256_secret_file;   // empty: not configured
    std::string public_key_file;     // empty: not configured
    int64_t leeway_s = 30;
    bool require_exp = true;
    std::string issuer;   // empty: not checked
    std::string audience; // empty: not checked
    std::vector<std::string> default_rooms{"*"};
    int64_t refresh_warning_s = 60;
    std::string unsynced_clock = "reject"; // reject | skip_time_checks

    bool operator==(const Auth&) const = default;
};

struct Presence {
    int64_t grace_ms = 5000;
    std::string scope = "global"; // global | rooms

    bool operator==(const Presence&) const = default;
};

struct Limits {
    int64_t max_body = 16384;
    int64_t max_send_queue_bytes = 262144;
    int64_t max_members_per_room = 10000;
    int64_t max_rooms_per_user = 1000;     // rooms joined with room:join (pending joins count)
    int64_t max_dm_rooms_per_user = 1000;  // direct rooms (dm:), counted apart so DMs cannot crowd out rooms
    int64_t replay_max = 1000;
    int64_t max_users = 1000000;           // users the hub knows (a new one is refused past it)
    int64_t max_rooms = 1000000;           // rooms held in memory (empty ones are reclaimed)

    bool operator==(const Limits&) const = default;
};

struct Storage {
    std::string synchronous = "full"; // full | normal
    int64_t commit_interval_ms = 5;
    int64_t commit_batch = 256;

    bool operator==(const Storage&) const = default;
};

struct Retention {
    int64_t max_messages_per_room = 10000;
    int64_t max_age_s = 2592000;
    int64_t max_db_bytes = 268435456;

    bool operator==(const Retention&) const = default;
};

struct Tls {
    std::string cert_file; // both set: serve wss/https
    std::string key_file;

    bool operator==(const Tls&) const = default;
};

struct Settings {
    std::string host = "0.0.0.0";
    int64_t port = 3000;
    std::string data_dir = "./var";
    std::string log_level = "info"; // debug | info | warn | error
    int64_t max_connections = 10000;
    bool allow_eio3 = true;
    int64_t ping_interval_ms = 25000;
    int64_t ping_timeout_ms = 20000;
    int64_t max_payload = 1000000;
    int64_t connect_timeout_ms = 45000;
    std::vector<std::string> cors_origins{"*"};
    std::string admin_token; // empty: none configured
    bool metrics_auth = false;
    bool conformance = false;
    Auth auth;
    Presence presence;
    RateLimits rate_limits;
    Limits limits;
    Storage storage;
    Retention retention;
    Tls tls;
    int64_t shutdown_timeout_ms = 10000;
    bool serve_client = true; // the socket.io-client bundle at /socket.io/socket.io.js (PROTOCOL.md §10)

    // Where the settings came from ("<embedded defaults>" or the file path), for messages.
    std::string source = "<embedded defaults>";

    // Equal when every setting and the source are equal (e.g. to tell whether a reload changed anything).
    bool operator==(const Settings&) const = default;
};

// Parses a JSON document into Settings, starting from the defaults. `source` names the file in
// error messages. Unknown keys, wrong types and out-of-range values fail with a message such
// as: `config.json: "ping_interval_ms": expected an integer from 1 to 3600000, got "abc"`.
Result<Settings> parse_settings(std::string_view json_text, std::string_view source);

// Reads and parses a file (messages name the path).
Result<Settings> load_settings_file(const std::string& path);

// Which keys a reload (SIGHUP) applies is declared once, per key, in the table: a few need a
// restart (the listener, the connection pools, the data folder, conformance mode, the store's
// commit and retention settings, TLS files); every other key is live.
//
// `next` with each restart-only setting put back to its value in `running`: what a reload applies.
Settings keep_restart_settings(const Settings& running, Settings next);
// True when `next` changes a restart-only setting (a reload applies the rest and says so).
bool needs_restart(const Settings& running, const Settings& next);
// The restart-only keys by top-level name, for messages: "host, port, ... and tls".
std::string restart_keys();

} // namespace outpost::settings
