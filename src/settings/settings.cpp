// settings.cpp - Loads and validates Outpost's JSON configuration (PROTOCOL.md §12).
// Owns: the table of keys (path, type, range, choices, field, live or restart-only), the walk
// over the parsed document, the cross-key rules, and what a reload keeps from the running set. Never: reads the environment, opens sockets or writes
// files; load_settings_file reaches the OS only through platform/.
#include "settings/settings.h"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <type_traits>
#include <variant>

#include "core/cjson_ptr.h"
#include "platform/platform.h"

namespace outpost::settings {
namespace {

constexpr size_t kMaxFileBytes = 1024 * 1024;
constexpr size_t kMaxShownValue = 40; // longest offending value quoted in a message

// ---- The key table

enum class Kind : uint8_t { object, integer, boolean, text, nonempty_text, choice, text_list };

using IntField = int64_t& (*)(Settings&);
using BoolField = bool& (*)(Settings&);
using TextField = std::string& (*)(Settings&);
using ListField = std::vector<std::string>& (*)(Settings&);
using Field = std::variant<std::monostate, IntField, BoolField, TextField, ListField>;

struct Rule {
    std::string_view key; // dotted path from the top level, e.g. "auth.leeway_s"
    Kind kind;
    Field field;
    int64_t min = 0;
    int64_t max = 0;
    std::span<const std::string_view> choices = {};
    bool all_required = false; // objects: every child key in the table must be present
    bool restart = false;      // a reload (SIGHUP) keeps the running value; only a restart applies it
};

constexpr Rule object(std::string_view key, bool all_required = false) {
    return {key, Kind::object, {}, 0, 0, {}, all_required};
}
constexpr Rule integer(std::string_view key, IntField f, int64_t min, int64_t max) {
    return {key, Kind::integer, f, min, max};
}
constexpr Rule boolean(std::string_view key, BoolField f) { return {key, Kind::boolean, f}; }
constexpr Rule text(std::string_view key, TextField f) { return {key, Kind::text, f}; }
constexpr Rule nonempty_text(std::string_view key, TextField f) { return {key, Kind::nonempty_text, f}; }
constexpr Rule text_list(std::string_view key, ListField f) { return {key, Kind::text_list, f}; }
constexpr Rule choice(std::string_view key, TextField f, std::span<const std::string_view> c) {
    return {key, Kind::choice, f, 0, 0, c};
}
// Marks a key that a reload does not apply (the listener, the pools, the data folder, TLS files).
constexpr Rule restart_only(Rule r) {
    r.restart = true;
    return r;
}

// A captureless lambda returning a reference to one Settings member; converts to the typed
// field pointer of its rule, so a rule cannot point at a member of the wrong type.
#define OUTPOST_AT(member) [](Settings& s) -> auto& { return s.member; }
#define OUTPOST_RATE_LIMIT(name, member) \
    object("rate_limits." name, true), \
    integer("rate_limits." name ".burst", OUTPOST_AT(rate_limits.member.burst), 1, 1000000), \
    integer("rate_limits." name ".per_ms", OUTPOST_AT(rate_limits.member.per_ms), 1, 86400000)

constexpr std::string_view kLogLevels[] = {"debug", "info", "warn", "error"};
constexpr std::string_view kAlgorithms[] = {"HS256", "RS256", "ES256"};
constexpr std::string_view kUnsyncedClock[] = {"reject", "skip_time_checks"};
constexpr std::string_view kPresenceScopes[] = {"global", "rooms"};
constexpr std::string_view kSynchronous[] = {"full", "normal"};

constexpr int64_t kHour = 3600000;
constexpr int64_t kDay = 86400000;

const Rule kRules[] = {
    restart_only(nonempty_text("host", OUTPOST_AT(host))),
    restart_only(integer("port", OUTPOST_AT(port), 0, 65535)),
    restart_only(integer("max_connections", OUTPOST_AT(max_connections), 1, 1000000)),
    restart_only(nonempty_text("data_dir", OUTPOST_AT(data_dir))),
    choice("log_level", OUTPOST_AT(log_level), kLogLevels),
    boolean("allow_eio3", OUTPOST_AT(allow_eio3)),
    integer("ping_interval_ms", OUTPOST_AT(ping_interval_ms), 1, kHour),
    integer("ping_timeout_ms", OUTPOST_AT(ping_timeout_ms), 1, kHour),
    integer("max_payload", OUTPOST_AT(max_payload), 1024, 100000000),
    integer("connect_timeout_ms", OUTPOST_AT(connect_timeout_ms), 1, kHour),
    text_list("cors_origins", OUTPOST_AT(cors_origins)),
    text("admin_token", OUTPOST_AT(admin_token)),
    boolean("metrics_auth", OUTPOST_AT(metrics_auth)),
    restart_only(boolean("conformance", OUTPOST_AT(conformance))),
    integer("shutdown_timeout_ms", OUTPOST_AT(shutdown_timeout_ms), 0, 600000),
    boolean("serve_client", OUTPOST_AT(serve_client)),

    object("auth"),
    choice("auth.algorithm", OUTPOST_AT(auth.algorithm), kAlgorithms),
    text("auth.hs256_secret", OUTPOST_AT(auth.hs256_secret)),
    text("auth.hs256_secret_file", OUTPOST_AT(auth.hs256_secret_file)),
    text("auth.public_key_file", OUTPOST_AT(auth.public_key_file)),
    integer("auth.leeway_s", OUTPOST_AT(auth.leeway_s), 0, 86400),
    boolean("auth.require_exp", OUTPOST_AT(auth.require_exp)),
    text("auth.issuer", OUTPOST_AT(auth.issuer)),
    text("auth.audience", OUTPOST_AT(auth.audience)),
    text_list("auth.default_rooms", OUTPOST_AT(auth.default_rooms)),
    integer("auth.refresh_warning_s", OUTPOST_AT(auth.refresh_warning_s), 0, 86400),
    choice("auth.unsynced_clock", OUTPOST_AT(auth.unsynced_clock), kUnsyncedClock),

    object("presence"),
    integer("presence.grace_ms", OUTPOST_AT(presence.grace_ms), 0, kHour),
    choice("presence.scope", OUTPOST_AT(presence.scope), kPresenceScopes),

    object("rate_limits"),
    OUTPOST_RATE_LIMIT("typing", typing),
    OUTPOST_RATE_LIMIT("room", room),
    OUTPOST_RATE_LIMIT("presence", presence),
    OUTPOST_RATE_LIMIT("message", message),
    OUTPOST_RATE_LIMIT("default", default_),
    OUTPOST_RATE_LIMIT("connect_per_ip", connect_per_ip),

    object("limits"),
    integer("limits.max_body", OUTPOST_AT(limits.max_body), 1, 100000000),
    integer("limits.max_send_queue_bytes", OUTPOST_AT(limits.max_send_queue_bytes), 1, 4294967296),
    integer("limits.max_members_per_room", OUTPOST_AT(limits.max_members_per_room), 1, 1000000),
    integer("limits.max_rooms_per_user", OUTPOST_AT(limits.max_rooms_per_user), 1, 1000000),
    integer("limits.max_dm_rooms_per_user", OUTPOST_AT(limits.max_dm_rooms_per_user), 1, 1000000),
    integer("limits.replay_max", OUTPOST_AT(limits.replay_max), 1, 1000000),
    integer("limits.max_users", OUTPOST_AT(limits.max_users), 1, 100000000),
    integer("limits.max_rooms", OUTPOST_AT(limits.max_rooms), 1, 1000000), // room index: 20 bits of an ack key

    object("storage"), // the writer thread reads these once, when the store opens
    restart_only(choice("storage.synchronous", OUTPOST_AT(storage.synchronous), kSynchronous)),
    restart_only(integer("storage.commit_interval_ms", OUTPOST_AT(storage.commit_interval_ms), 0, 10000)),
    restart_only(integer("storage.commit_batch", OUTPOST_AT(storage.commit_batch), 1, 100000)),

    object("retention"),
    restart_only(integer("retention.max_messages_per_room", OUTPOST_AT(retention.max_messages_per_room), 1, 1000000000)),
    restart_only(integer("retention.max_age_s", OUTPOST_AT(retention.max_age_s), 1, 100LL * 365 * kDay / 1000)),
    restart_only(integer("retention.max_db_bytes", OUTPOST_AT(retention.max_db_bytes), 1, 1LL << 40)),

    object("tls"),
    restart_only(text("tls.cert_file", OUTPOST_AT(tls.cert_file))),
    restart_only(text("tls.key_file", OUTPOST_AT(tls.key_file))),
};

#undef OUTPOST_RATE_LIMIT
#undef OUTPOST_AT

// ---- Rules that relate two keys, checked after the whole document has been applied.

struct CrossRule {
    bool (*violated)(const Settings&);
    std::string_view message;
};

const CrossRule kCrossRules[] = {
    {[](const Settings& s) { return s.tls.cert_file.empty() != s.tls.key_file.empty(); },
     "\"tls.cert_file\" and \"tls.key_file\" must be set together (both or neither)"},
    {[](const Settings& s) { return s.auth.algorithm != "HS256" && s.auth.public_key_file.empty(); },
     "\"auth.algorithm\" RS256 and ES256 require \"auth.public_key_file\""},
    {[](const Settings& s) { return !s.auth.hs256_secret.empty() && !s.auth.hs256_secret_file.empty(); },
     "\"auth.hs256_secret\" and \"auth.hs256_secret_file\" cannot both be set"},
};

// ---- Helpers

using JsonPtr = core::CJsonPtr;

const Rule* find_rule(std::string_view path) {
    for (const Rule& r : kRules)
        if (r.key == path) return &r;
    return nullptr;
}

// Direct children of `parent` in the table: "rate_limits.typing" -> "burst", "per_ms".
template <class Fn>
void for_each_child(std::string_view parent, Fn fn) {
    for (const Rule& r : kRules) {
        if (r.key.size() <= parent.size() + 1 || !r.key.starts_with(parent) || r.key[parent.size()] != '.')
            continue;
        std::string_view name = r.key.substr(parent.size() + 1);
        if (name.find('.') == std::string_view::npos) fn(name);
    }
}

// The offending value as JSON, shortened, for "got ..." in messages.
std::string show(const cJSON* item) {
    core::CJsonText printed(cJSON_PrintUnformatted(item));
    std::string s = printed ? printed.get() : "?";
    if (s.size() > kMaxShownValue) {
        s.resize(kMaxShownValue - 3);
        s += "...";
    }
    return s;
}

bool integral_in_range(const cJSON* item, int64_t min, int64_t max, int64_t& out) {
    if (!cJSON_IsNumber(item)) return false;
    double v = item->valuedouble;
    if (!std::isfinite(v) || v != std::trunc(v)) return false;
    if (v < static_cast<double>(min) || v > static_cast<double>(max)) return false;
    out = static_cast<int64_t>(v);
    return true;
}

bool is_nonempty_string(const cJSON* item) {
    return cJSON_IsString(item) && item->valuestring != nullptr && item->valuestring[0] != '\0';
}

bool duplicate_before(const cJSON* object, const cJSON* item) {
    for (const cJSON* c = object->child; c != item; c = c->next)
        if (std::string_view(c->string) == item->string) return true;
    return false;
}

std::string expected_choices(const Rule& rule) {
    std::string s = "expected one of ";
    for (size_t i = 0; i < rule.choices.size(); ++i) {
        if (i) s += ", ";
        s += '"';
        s += rule.choices[i];
        s += '"';
    }
    return s;
}

std::string expected_object(const Rule& rule) {
    if (!rule.all_required) return "expected an object";
    std::string s = "expected an object with exactly";
    const char* sep = " ";
    for_each_child(rule.key, [&](std::string_view name) {
        s += sep;
        s += '"';
        s += name;
        s += '"';
        sep = " and ";
    });
    return s;
}

// "line L, column C (byte B)" for a byte offset into `text`.
std::string position_of(std::string_view text, size_t offset) {
    size_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1) +
           " (byte " + std::to_string(offset) + ")";
}

// Where the text has a "\u0000" escape, or npos. cJSON ends strings at a decoded NUL, which
// would silently shorten a value (a secret, say), so such documents are refused.
size_t find_escaped_nul(std::string_view text) {
    for (size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] != '\\') continue;
        if (text.substr(i + 1, 5) == "u0000") return i;
        ++i; // the escaped character cannot start another escape
    }
    return std::string_view::npos;
}

// ---- The walk over the document

class Parser {
public:
    Parser(std::string_view source, Settings& out) : source_(source), out_(out) {}

    // Applies every member of `object` (whose path is `prefix`); false at the first error.
    bool walk(const cJSON* object, std::string_view prefix);
    const std::string& error() const { return error_; }

private:
    bool fail_key(std::string_view path, std::string_view detail) {
        error_ = std::string(source_) + ": \"" + std::string(path) + "\": " + std::string(detail);
        return false;
    }
    bool fail_got(std::string_view path, std::string_view expected, const cJSON* got) {
        return fail_key(path, std::string(expected) + ", got " + show(got));
    }
    bool apply(const Rule& rule, const cJSON* item, const std::string& path);
    bool apply_object(const Rule& rule, const cJSON* item, const std::string& path);
    bool apply_list(const Rule& rule, const cJSON* item, const std::string& path);
    bool apply_choice(const Rule& rule, const cJSON* item, const std::string& path);

    std::string_view source_;
    Settings& out_;
    std::string error_;
};

bool Parser::walk(const cJSON* object, std::string_view prefix) {
    for (const cJSON* item = object->child; item != nullptr; item = item->next) {
        std::string_view name = item->string ? item->string : "";
        std::string path = prefix.empty() ? std::string(name) : std::string(prefix) + "." + std::string(name);
        const Rule* rule = name.find('.') == std::string_view::npos ? find_rule(path) : nullptr;
        if (rule == nullptr) return fail_key(path, "unknown key");
        if (duplicate_before(object, item)) return fail_key(path, "duplicate key");
        if (!apply(*rule, item, path)) return false;
    }
    return true;
}

bool Parser::apply(const Rule& rule, const cJSON* item, const std::string& path) {
    switch (rule.kind) {
    case Kind::object: return apply_object(rule, item, path);
    case Kind::text_list: return apply_list(rule, item, path);
    case Kind::choice: return apply_choice(rule, item, path);
    case Kind::integer: {
        int64_t v = 0;
        if (!integral_in_range(item, rule.min, rule.max, v))
            return fail_got(path, "expected an integer from " + std::to_string(rule.min) + " to " +
                                      std::to_string(rule.max), item);
        std::get<IntField>(rule.field)(out_) = v;
        return true;
    }
    case Kind::boolean:
        if (!cJSON_IsBool(item)) return fail_got(path, "expected true or false", item);
        std::get<BoolField>(rule.field)(out_) = cJSON_IsTrue(item);
        return true;
    case Kind::text:
        if (!cJSON_IsString(item)) return fail_got(path, "expected a string", item);
        std::get<TextField>(rule.field)(out_) = item->valuestring;
        return true;
    case Kind::nonempty_text:
        if (!is_nonempty_string(item)) return fail_got(path, "expected a non-empty string", item);
        std::get<TextField>(rule.field)(out_) = item->valuestring;
        return true;
    }
    return fail_key(path, "internal error: unhandled key kind");
}

bool Parser::apply_object(const Rule& rule, const cJSON* item, const std::string& path) {
    if (!cJSON_IsObject(item)) return fail_got(path, expected_object(rule), item);
    if (!walk(item, path)) return false;
    bool complete = true;
    if (rule.all_required) {
        for_each_child(rule.key, [&](std::string_view name) {
            if (!cJSON_GetObjectItemCaseSensitive(item, std::string(name).c_str())) complete = false;
        });
    }
    return complete || fail_got(path, expected_object(rule), item);
}

bool Parser::apply_list(const Rule& rule, const cJSON* item, const std::string& path) {
    if (!cJSON_IsArray(item)) return fail_got(path, "expected an array of non-empty strings", item);
    std::vector<std::string> values;
    size_t index = 0;
    for (const cJSON* e = item->child; e != nullptr; e = e->next, ++index) {
        if (!is_nonempty_string(e))
            return fail_got(path + "[" + std::to_string(index) + "]", "expected a non-empty string", e);
        values.emplace_back(e->valuestring);
    }
    std::get<ListField>(rule.field)(out_) = std::move(values);
    return true;
}

bool Parser::apply_choice(const Rule& rule, const cJSON* item, const std::string& path) {
    if (cJSON_IsString(item)) {
        for (std::string_view c : rule.choices) {
            if (c == item->valuestring) {
                std::get<TextField>(rule.field)(out_) = std::string(c);
                return true;
            }
        }
    }
    return fail_got(path, expected_choices(rule), item);
}

// Parses the text into a cJSON tree; null with `why` set when it is not acceptable JSON.
JsonPtr parse_json(std::string_view text, std::string& why) {
    size_t nul = text.find('\0');
    if (nul != std::string_view::npos) {
        why = "invalid JSON at " + position_of(text, nul) + ": NUL byte";
        return nullptr;
    }
    size_t escaped_nul = find_escaped_nul(text);
    if (escaped_nul != std::string_view::npos) {
        why = "unsupported JSON at " + position_of(text, escaped_nul) + ": \"\\u0000\" in a string";
        return nullptr;
    }
    std::string copy(text); // cJSON needs the terminating NUL
    const char* end = nullptr;
    JsonPtr root(cJSON_ParseWithOpts(copy.c_str(), &end, true));
    if (!root) why = "invalid JSON near " + position_of(text, end ? static_cast<size_t>(end - copy.c_str()) : 0);
    return root;
}

Result<Settings> refuse(Status status, std::string message) {
    return Result<Settings>::fail(status, std::move(message));
}

} // namespace

Result<Settings> parse_settings(std::string_view json_text, std::string_view source) {
    std::string where = std::string(source) + ": ";
    std::string why;
    JsonPtr root = parse_json(json_text, why);
    if (!root) return refuse(Status::malformed, where + why);
    if (!cJSON_IsObject(root.get()))
        return refuse(Status::invalid_argument, where + "expected a JSON object at the top level, got " + show(root.get()));
    Settings out;
    out.source = std::string(source);
    Parser parser(source, out);
    if (!parser.walk(root.get(), "")) return refuse(Status::invalid_argument, parser.error());
    for (const CrossRule& rule : kCrossRules)
        if (rule.violated(out)) return refuse(Status::invalid_argument, where + std::string(rule.message));
    return out;
}

Result<Settings> load_settings_file(const std::string& path) {
    std::string text;
    if (!platform::read_file(path, text, kMaxFileBytes)) {
        std::string why = platform::last_error();
        if (!platform::file_exists(path))
            return refuse(Status::not_found, path + ": cannot read the configuration file: " + why);
        return refuse(Status::io_error, path + ": cannot read the configuration file (limit " +
                                            std::to_string(kMaxFileBytes) + " bytes): " + why);
    }
    return parse_settings(text, path);
}

// ---- Live and restart-only keys (the `restart` mark in the table)

Settings keep_restart_settings(const Settings& running, Settings next) {
    Settings from = running; // the field accessors take a mutable Settings
    for (const Rule& r : kRules) {
        if (!r.restart) continue;
        std::visit(
            [&](auto field) {
                if constexpr (!std::is_same_v<decltype(field), std::monostate>) field(next) = field(from);
            },
            r.field);
    }
    return next;
}

bool needs_restart(const Settings& running, const Settings& next) {
    return !(keep_restart_settings(running, next) == next);
}

std::string restart_keys() {
    std::vector<std::string_view> names; // top-level names, in table order, once each
    for (const Rule& r : kRules) {
        std::string_view top = r.key.substr(0, r.key.find('.'));
        if (r.restart && std::find(names.begin(), names.end(), top) == names.end()) names.push_back(top);
    }
    std::string text;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) text += i + 1 == names.size() ? " and " : ", ";
        text += names[i];
    }
    return text;
}

} // namespace outpost::settings
