// http_api.cpp - /healthz, /metrics and /api/stats (see http_api.h).
#include "admin/http_api.h"

#include <cstdio>
#include <iterator>

#include <cjson/cJSON.h>

#include "admin/client_bundle.h"
#include "admin/dashboard.h"
#include "auth/jwt.h"
#include "hub/hub.h"
#include "store/store.h"
#include "core/build_info.h"
#include "core/cjson_ptr.h"
#include "core/credentials.h"
#include "core/json_writer.h"
#include "platform/platform.h"
#include "proto/json.h"

namespace outpost::admin {
namespace {

net::HttpResponse json(int status, std::string body) { return net::HttpResponse{status, "application/json", std::move(body)}; }

// The /healthz answer: {"status":..,"reason":..} (no reason when empty).
net::HttpResponse health(int status, std::string_view state, std::string_view reason) {
    std::string body;
    core::JsonWriter w(body);
    w.begin_object().member("status", state);
    if (!reason.empty()) w.member("reason", reason);
    w.end_object();
    return json(status, std::move(body));
}

// A labelled Prometheus family: "# HELP", "# TYPE counter", then name{label="value"} count.
template <class Name>
void labelled(std::string& out, const char* name, const char* help, const char* label, size_t n, Name name_of,
              const uint64_t* counts) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (size_t i = 0; i < n; ++i)
        out += std::string(name) + "{" + label + "=\"" + std::string(name_of(i)) + "\"} " + std::to_string(counts[i]) + "\n";
}

void metric(std::string& out, const char* name, const char* type, const char* help, uint64_t value) {
    char line[512];
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  static_cast<unsigned long long>(value));
    out += line;
}

} // namespace

net::HttpResponse error_answer(int status, std::string_view code, std::string_view message) {
    std::string body;
    core::JsonWriter(body).begin_object().member("code", code).member("message", message).end_object();
    return json(status, std::move(body));
}

HttpApi::HttpApi(const settings::Settings& settings, Sources sources, int64_t started_mono_ms)
    : settings_(settings), src_(std::move(sources)), started_ms_(started_mono_ms), last_sample_ms_(started_mono_ms) {}

bool HttpApi::is_admin(std::string_view authorization, int& status) const {
    std::string_view token = core::bearer_token(authorization);
    if (token.empty()) {
        status = 401;
        return false;
    }
    if (!settings_.admin_token.empty() && core::constant_time_equal(token, settings_.admin_token)) return true;
    if (keys_) {
        auth::VerifyResult r = auth::verify_with_settings(token, *keys_, settings_.auth, platform::wall_ms() / 1000);
        if (r.ok() && r->admin) return true;
        if (r.ok()) {
            status = 403;
            return false;
        }
    }
    status = 401;
    return false;
}

void HttpApi::sample(int64_t now) {
    if (!src_.hub) return;
    uint64_t in = src_.hub->stats().messages_in, out = src_.hub->stats().messages_out;
    if (now > last_sample_ms_) { // the first window starts at start-up, with zero messages
        double secs = double(now - last_sample_ms_) / 1000.0;
        in_per_sec_ = double(in - last_in_) / secs;
        out_per_sec_ = double(out - last_out_) / secs;
    }
    last_in_ = in;
    last_out_ = out;
    last_sample_ms_ = now;
}

std::string HttpApi::stats_json() const {
    const net::EngineStats& e = *src_.engine;
    const hub::Hub* h = src_.hub;
    store::Health health = src_.store ? src_.store->health() : store::Health{};
    int64_t uptime_s = (platform::monotonic_ms() - started_ms_) / 1000;
    // Engine.IO sessions that have no Socket.IO socket (yet): handshakes without a CONNECT. One
    // socket per session at most (the application has the one namespace "/").
    uint64_t sockets = h ? h->sockets() : 0;
    uint64_t handshakes_pending = e.sessions_open > sockets ? e.sessions_open - sockets : 0;
    std::string out;
    core::JsonWriter w(out);
    w.begin_object()
        .member("connections", uint64_t(e.sessions_open))
        .member("handshakesPending", handshakes_pending)
        .member("sockets", sockets)
        .member("usersOnline", uint64_t(h ? h->users_online() : 0))
        .member("rooms", uint64_t(h ? h->rooms() : 0));
    w.key("messagesInPerSec").fixed(in_per_sec_, 1).key("messagesOutPerSec").fixed(out_per_sec_, 1);
    w.member("queueDepth", uint64_t(health.queue_depth))
        .member("sendQueueBytes", uint64_t(e.queued_bytes))
        .member("storageBytes", int64_t(health.db_bytes))
        .member("storageWritable", health.writable)
        .member("uptimeS", uptime_s)
        .member("sessionsPeak", uint64_t(e.sessions_peak))
        .member("maxConnections", int64_t(settings_.max_connections))
        .member("protocolErrors", uint64_t(e.closed_protocol_error))
        .member("slowConsumers", uint64_t(h ? h->stats().slow_consumer_cuts : 0))
        .member("clockUnsynced", auth::clock_looks_unsynced(platform::wall_ms() / 1000));
    w.key("recentDisconnects").begin_array();
    if (h)
        for (const std::string& r : h->recent_disconnects()) w.string(r);
    w.end_array().end_object();
    return out;
}

namespace {

void engine_metrics(std::string& out, const net::EngineStats& e) {
    metric(out, "outpost_connections", "gauge", "Engine.IO sessions open.", e.sessions_open);
    metric(out, "outpost_connections_peak", "gauge", "Most sessions open at once since start.", e.sessions_peak);
    metric(out, "outpost_handshakes_ok_total", "counter", "Engine.IO handshakes accepted.", e.handshakes_ok);
    metric(out, "outpost_handshakes_refused_total", "counter", "Engine.IO requests refused with 400.", e.handshakes_refused);
    metric(out, "outpost_handshakes_full_total", "counter", "Handshakes refused with 503 (no free slot).", e.handshakes_full);
    metric(out, "outpost_handshakes_rate_limited_total", "counter", "Handshakes refused with 429 (per-address limit).", e.handshakes_rate_limited);
    metric(out, "outpost_protocol_errors_total", "counter", "Sessions closed for undecodable input.", e.closed_protocol_error);
    metric(out, "outpost_ping_timeouts_total", "counter", "Sessions closed for a missed heartbeat.", e.closed_ping_timeout);
    metric(out, "outpost_frames_out_total", "counter", "Engine.IO packets sent.", e.frames_out);
    metric(out, "outpost_frames_in_total", "counter", "Engine.IO messages received.", e.frames_in);
    metric(out, "outpost_send_queue_bytes", "gauge", "Bytes waiting in send queues.", e.queued_bytes);
    metric(out, "outpost_tcp_connections", "gauge", "TCP connections open (any kind).", e.tcp_open);
    metric(out, "outpost_tcp_refused_total", "counter", "TCP connections closed at once: over the TCP capacity.", e.tcp_refused);
    metric(out, "outpost_http_bodies_reading", "gauge", "HTTP request bodies being received.", e.http_bodies_reading);
    metric(out, "outpost_http_body_bytes_reserved", "gauge", "Declared length of the bodies being received.", e.http_body_bytes_reserved);
    metric(out, "outpost_http_busy_total", "counter", "Request bodies refused with 503: the body budget was spent.", e.http_refused_busy);
}

void sio_metrics(std::string& out, const sio::LayerStats& s) {
    metric(out, "outpost_sockets_connected_total", "counter", "Socket.IO namespace connects accepted.", s.sockets_connected);
    metric(out, "outpost_connects_refused_total", "counter", "Socket.IO connects refused.", s.connects_refused);
    metric(out, "outpost_malformed_packets_total", "counter", "Socket.IO packets that closed their session.", s.malformed_packets);
}

void hub_metrics(std::string& out, const hub::Hub& h) {
    const hub::HubStats& hs = h.stats();
    metric(out, "outpost_users_online", "gauge", "Users with at least one socket (or inside the grace period).", hs.users_online);
    metric(out, "outpost_rooms", "gauge", "Rooms known to the hub.", h.rooms());
    metric(out, "outpost_messages_in_total", "counter", "Messages stored and acknowledged.", hs.messages_in);
    metric(out, "outpost_messages_out_total", "counter", "message:new deliveries queued.", hs.messages_out);
    metric(out, "outpost_rate_limited_total", "counter", "Events refused by a rate limit.", hs.rate_limited);
    metric(out, "outpost_rate_limit_cuts_total", "counter", "Sockets cut for flooding after refusals.", hs.rate_limit_cuts);
    metric(out, "outpost_slow_consumer_cuts_total", "counter", "Sockets cut for a full send queue.", hs.slow_consumer_cuts);
    metric(out, "outpost_token_expired_cuts_total", "counter", "Sockets cut at exp + leeway.", hs.expired_cuts);
    labelled(out, "outpost_events_in_total", "Client events received, by event name.", "event", hub::kRouteCount + 1,
             [](size_t i) { return hub::Hub::route_name(i); }, hs.events_by_route);
    labelled(out, "outpost_errors_total", "Errors answered to clients, by code.", "code", hub::kErrorCodeCount,
             [](size_t i) { return hub::error_code_name(hub::ErrorCode(i)); }, hs.errors_by_code);
    static_assert(std::size(hub::HubStats{}.auth_failures) == auth::kAuthCodeCount);
    labelled(out, "outpost_auth_failures_total", "Refused tokens, by code.", "code", auth::kAuthCodeCount,
             [](size_t i) { return auth::auth_code_name(auth::AuthCode(i)); }, hs.auth_failures);
}

void store_metrics(std::string& out, const store::Health& hl) {
    metric(out, "outpost_storage_bytes", "gauge", "Size of the SQLite database.", uint64_t(hl.db_bytes));
    metric(out, "outpost_storage_writable", "gauge", "1 while the database accepts writes.", hl.writable ? 1 : 0);
    metric(out, "outpost_storage_queue_depth", "gauge", "Writes submitted and not yet committed.", hl.queue_depth);
    metric(out, "outpost_storage_pruned_total", "counter", "Messages removed by retention.", hl.pruned_total);
    metric(out, "outpost_storage_pruned_unconfirmed_total", "counter", "Messages removed before every device confirmed them.", hl.pruned_unconfirmed);
    out += "# HELP outpost_storage_commit_seconds Group-commit latency.\n# TYPE outpost_storage_commit_seconds histogram\n";
    uint64_t cum = 0;
    for (size_t i = 0; i < hl.commit_latency_buckets_us_counts.size(); ++i) {
        cum += hl.commit_latency_buckets_us_counts[i];
        char le[32];
        if (i < store::kCommitLatencyBoundsUs.size()) std::snprintf(le, sizeof le, "%g", double(store::kCommitLatencyBoundsUs[i]) / 1e6);
        else std::snprintf(le, sizeof le, "+Inf");
        out += "outpost_storage_commit_seconds_bucket{le=\"" + std::string(le) + "\"} " + std::to_string(cum) + "\n";
    }
    out += "outpost_storage_commit_seconds_count " + std::to_string(cum) + "\n";
}

} // namespace

std::string HttpApi::metrics_text() const {
    std::string out;
    engine_metrics(out, *src_.engine);
    if (src_.sio) sio_metrics(out, *src_.sio);
    if (src_.hub) hub_metrics(out, *src_.hub);
    if (src_.store) store_metrics(out, src_.store->health());
    metric(out, "outpost_clock_unsynced", "gauge", "1 when the wall clock is before the build date.",
           auth::clock_looks_unsynced(platform::wall_ms() / 1000) ? 1 : 0);
    out += "# HELP outpost_build_info Build version.\n# TYPE outpost_build_info gauge\noutpost_build_info{version=\"";
    out += core::kVersion;
    out += "\"} 1\n";
    return out;
}

net::HttpResponse HttpApi::handle(const net::HttpRequest& req) {
    if (req.method == "GET" && (req.path == "/" || req.path == "/index.html"))
        return net::HttpResponse{200, "text/html; charset=utf-8", std::string(admin::kDashboardHtml)};
    constexpr std::string_view kClientPrefix = "/socket.io/"; // the bundle beside the Engine.IO endpoint
    if (req.method == "GET" && settings_.serve_client && req.path.size() > kClientPrefix.size() &&
        req.path.substr(0, kClientPrefix.size()) == kClientPrefix)
        return serve_client_file(req.path.substr(kClientPrefix.size()), req.if_none_match, req.accept_encoding);
    if (req.method == "GET" && req.path == "/healthz") {
        if (draining_) return health(503, "draining", "server is shutting down");
        if (src_.store) {
            store::Health hl = src_.store->health(); // cheap: no disk access
            if (!hl.writable) return health(503, "unavailable", "storage not writable: " + hl.reason);
        }
        return health(200, "ok", {});
    }
    if (req.method == "GET" && req.path == "/metrics") {
        int status = 0;
        if (settings_.metrics_auth && !is_admin(req.authorization, status))
            return error_answer(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
        return net::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text()};
    }
    if (req.method == "GET" && req.path == "/api/stats") {
        int status = 0;
        if (!is_admin(req.authorization, status))
            return error_answer(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
        return json(200, stats_json());
    }
    if (req.method == "POST" && req.path.rfind("/api/", 0) == 0) return admin_post(req);
    return error_answer(404, "not_found", "no such endpoint");
}

net::HttpResponse HttpApi::check_head(const net::HttpRequest& req) {
    int status = 0;
    if (req.method == "POST" && req.path.rfind("/api/", 0) == 0 && !is_admin(req.authorization, status))
        return error_answer(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
    return net::HttpResponse{0, {}, {}};
}

// POST /api/rooms/<room>/messages: `{body, clientId?}` stored as user "system" through the same
// path as message:send; answered once committed.
net::HttpResponse HttpApi::publish(std::string_view room, const cJSON* b, std::string_view raw, uint64_t reply_token) {
    if (!hub::is_room_name(room)) return error_answer(400, "invalid_payload", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]");
    const cJSON* body = b ? cJSON_GetObjectItemCaseSensitive(b, "body") : nullptr;
    if (!body) return error_answer(400, "invalid_payload", "body: required");
    for (const cJSON* m = b->child; m; m = m->next)
        if (std::string_view(m->string) != "body" && std::string_view(m->string) != "clientId")
            return error_answer(400, "invalid_payload", std::string(m->string) + ": unknown field");
    // The body as the client wrote it, compacted (PROTOCOL.md §6), and no NUL in clientId (cJSON
    // would end it there).
    std::vector<proto::json::Member> members;
    if (!proto::json::members(raw, members)) return error_answer(400, "invalid_payload", "body: the request could not be read");
    std::string text, why;
    bool body_seen = false;
    for (const proto::json::Member& m : members) {
        if (m.key_nul || (m.key == "clientId" && m.value.nul))
            return error_answer(400, "invalid_payload", "clientId: holds a NUL character (\\u0000)");
        if (m.key != "body" || body_seen) continue;
        body_seen = true;
        if (!proto::json::compact(m.value.text, text, why)) return error_answer(400, "invalid_payload", "body: not valid JSON (RFC 8259)");
    }
    if (int64_t(text.size()) > settings_.limits.max_body) return error_answer(413, "payload_too_large", "body: over limits.max_body");
    const cJSON* cid = cJSON_GetObjectItemCaseSensitive(b, "clientId");
    std::string client_id;
    if (cid) {
        if (!cJSON_IsString(cid) || !hub::is_client_id(cid->valuestring))
            return error_answer(400, "invalid_payload", "clientId: expected 1-64 printable ASCII chars");
        client_id = cid->valuestring;
    } else {
        client_id = "http-" + std::to_string(platform::wall_ms()) + "-" + std::to_string(++published_);
    }
    src_.hub->publish(room, text, client_id, [transport = src_.transport, reply_token](const hub::PublishResult& r) {
        if (!transport) return;
        if (r.status != Status::ok) return transport->http_reply(reply_token, error_answer(503, "unavailable", r.error));
        std::string answer;
        core::JsonWriter(answer).begin_object().member("ok", true).raw(hub::wire::stored_fields(r.message, r.duplicate)).end_object();
        transport->http_reply(reply_token, json(200, std::move(answer)));
    });
    net::HttpResponse r;
    r.deferred = true;
    return r;
}

// POST /api/broadcast and /api/users/<id>/disconnect (PROTOCOL.md §10).
net::HttpResponse HttpApi::admin_post(const net::HttpRequest& req) {
    int status = 0;
    if (!is_admin(req.authorization, status))
        return error_answer(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
    if (!src_.hub) return error_answer(404, "not_found", "no application in conformance mode");
    core::CJsonPtr body(cJSON_ParseWithLength(req.body.data(), req.body.size()));
    if (!req.body.empty() && !cJSON_IsObject(body.get())) return error_answer(400, "invalid_payload", "body: expected a JSON object");
    const cJSON* b = body.get();
    auto text = [&](const char* key) -> const char* {
        const cJSON* v = b ? cJSON_GetObjectItemCaseSensitive(b, key) : nullptr;
        return cJSON_IsString(v) ? v->valuestring : nullptr;
    };
    if (req.path == "/api/broadcast") {
        const char* message = text("message");
        if (!message || !*message) return error_answer(400, "invalid_payload", "message: required, expected a non-empty string");
        src_.hub->broadcast_maintenance(message);
        std::string answer;
        core::JsonWriter(answer).begin_object().member("ok", true).end_object();
        return json(200, std::move(answer));
    }
    constexpr std::string_view kRooms = "/api/rooms/", kMessages = "/messages";
    if (req.path.rfind(kRooms, 0) == 0 && req.path.size() > kRooms.size() + kMessages.size() &&
        req.path.substr(req.path.size() - kMessages.size()) == kMessages)
        return publish(req.path.substr(kRooms.size(), req.path.size() - kRooms.size() - kMessages.size()), b, req.body,
                       req.reply_token);
    constexpr std::string_view kUsers = "/api/users/", kDisconnect = "/disconnect";
    if (req.path.rfind(kUsers, 0) == 0 && req.path.size() > kUsers.size() + kDisconnect.size() &&
        req.path.substr(req.path.size() - kDisconnect.size()) == kDisconnect) {
        std::string_view user = req.path.substr(kUsers.size(), req.path.size() - kUsers.size() - kDisconnect.size());
        if (!auth::is_valid_user_id(user)) return error_answer(400, "invalid_payload", "userId: expected 1-64 chars of [A-Za-z0-9_.@-]");
        const char* reason = text("reason");
        size_t n = src_.hub->disconnect_user(user, reason ? reason : "");
        std::string answer;
        core::JsonWriter(answer).begin_object().member("ok", true).member("sockets", uint64_t(n)).end_object();
        return json(200, std::move(answer));
    }
    return error_answer(404, "not_found", "no such endpoint");
}

} // namespace outpost::admin
