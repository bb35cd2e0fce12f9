// options.cpp - Settings onto module options, the log level and the logged key loading (see options.h).
#include "app/options.h"

#include "core/log.h"
#include "platform/platform.h"

namespace outpost::app {

Result<settings::Settings> load_config(const std::string& path) {
    if (path.empty()) return settings::Settings();
    return settings::load_settings_file(path);
}

net::ServerOptions server_options(const settings::Settings& s) {
    net::ServerOptions o;
    o.host = s.host;
    o.port = int(s.port);
    o.max_connections = size_t(s.max_connections);
    o.ping_interval_ms = s.ping_interval_ms;
    o.ping_timeout_ms = s.ping_timeout_ms;
    o.max_payload = size_t(s.max_payload);
    o.allow_eio3 = s.allow_eio3;
    o.engineio_endpoint = s.conformance;
    o.cors_origins = s.cors_origins;
    o.max_send_queue_bytes = uint64_t(s.limits.max_send_queue_bytes);
    o.connect_per_ip_burst = s.rate_limits.connect_per_ip.burst;
    o.connect_per_ip_per_ms = s.rate_limits.connect_per_ip.per_ms;
    o.tls_cert_file = s.tls.cert_file;
    o.tls_key_file = s.tls.key_file;
    return o;
}

store::StoreOptions store_options(const settings::Settings& s) {
    store::StoreOptions o;
    o.path = s.data_dir + "/outpost.db";
    o.synchronous_full = s.storage.synchronous == "full";
    o.commit_interval_ms = s.storage.commit_interval_ms;
    o.commit_batch = s.storage.commit_batch;
    o.max_messages_per_room = s.retention.max_messages_per_room;
    o.max_age_s = s.retention.max_age_s;
    o.max_db_bytes = s.retention.max_db_bytes;
    return o;
}

void apply_log_level(const settings::Settings& s) {
    core::LogLevel level = core::LogLevel::info;
    core::log_level_from_name(s.log_level, level);
    core::log_set_level(level);
}

std::optional<auth::KeySet> load_keys_logged(const settings::Settings& s) {
    bool had_secret_file = platform::file_exists(s.data_dir + "/jwt.secret");
    Result<auth::KeySet> keys = auth::load_keys(s.auth, s.data_dir);
    if (!keys.ok()) {
        OUTPOST_LOG(error, "keys_failed", "error=\"%s\"", keys.error().message.c_str());
        return std::nullopt;
    }
    OUTPOST_LOG(info, "keys_loaded", "key=\"%s\"", keys->describe().c_str());
    for (const std::string& w : keys->warnings()) OUTPOST_LOG(warn, "key_warning", "detail=\"%s\"", w.c_str());
    if (!had_secret_file && keys->source().find("jwt.secret") != std::string::npos)
        OUTPOST_LOG(info, "secret_generated",
                    "file=%s/jwt.secret hint=\"mint a token with: outpost token --sub alice --ttl 1h\"", s.data_dir.c_str());
    return std::move(keys).value();
}

} // namespace outpost::app
