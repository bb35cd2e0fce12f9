// http_api.cpp - /healthz, /metrics and /api/stats (see http_api.h).
#include "admin/http_api.h"

#include <cstdio>

#include <cjson/cJSON.h>

#include <cstring>
#include <memory>

#include "auth/jwt.h"
#include "hub/hub.h"
#include "core/build_info.h"
#include "platform/platform.h"

namespace outpost::admin {
namespace {

net::HttpResponse json(int status, std::string body) { return net::HttpResponse{status, "application/json", std::move(body)}; }

net::HttpResponse error(int status, const char* code, const char* message) {
    return json(status, std::string("{\"code\":\"") + code + "\",\"message\":\"" + message + "\"}");
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

void metric(std::string& out, const char* name, const char* type, const char* help, uint64_t value) {
    char line[512];
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  static_cast<unsigned long long>(value));
    out += line;
}

} // namespace

HttpApi::HttpApi(const settings::Settings& settings, Sources sources, int64_t started_mono_ms)
    : settings_(settings), src_(std::move(sources)), started_ms_(started_mono_ms) {}

bool HttpApi::is_admin(std::string_view authorization, int& status) const {
    constexpr std::string_view kPrefix = "Bearer ";
    if (authorization.size() <= kPrefix.size() || authorization.substr(0, kPrefix.size()) != kPrefix) {
        status = 401;
        return false;
    }
    std::string_view token = authorization.substr(kPrefix.size());
    if (!settings_.admin_token.empty() && constant_time_equal(token, settings_.admin_token)) return true;
    if (keys_) {
        int64_t now_s = platform::wall_ms() / 1000;
        auth::Policy policy = auth::policy_from_settings(settings_.auth);
        policy.clock_unsynced = auth::clock_looks_unsynced(now_s);
        auth::VerifyResult r = auth::verify(token, *keys_, now_s, policy);
        if (r.ok() && r->admin) return true;
        if (r.ok()) {
            status = 403;
            return false;
        }
    }
    status = 401;
    return false;
}

std::string HttpApi::stats_json() const {
    const net::EngineStats& e = *src_.engine;
    uint64_t users = src_.hub ? src_.hub->users_online() : 0;
    uint64_t rooms = src_.hub ? src_.hub->rooms() : 0;
    int64_t uptime_s = (platform::monotonic_ms() - started_ms_) / 1000;
    char buf[768];
    std::snprintf(buf, sizeof buf,
                  "{\"connections\":%llu,\"sockets\":%llu,\"usersOnline\":%llu,\"rooms\":%llu,\"messagesInPerSec\":0,"
                  "\"messagesOutPerSec\":0,\"queueDepth\":%llu,\"storageBytes\":0,\"uptimeS\":%lld,"
                  "\"sessionsPeak\":%llu,\"maxConnections\":%lld,\"protocolErrors\":%llu,\"clockUnsynced\":%s}",
                  (unsigned long long)e.sessions_open, (unsigned long long)(src_.hub ? src_.hub->sockets() : 0),
                  (unsigned long long)users, (unsigned long long)rooms, (unsigned long long)e.queued_bytes, (long long)uptime_s,
                  (unsigned long long)e.sessions_peak, (long long)settings_.max_connections,
                  (unsigned long long)e.closed_protocol_error,
                  auth::clock_looks_unsynced(platform::wall_ms() / 1000) ? "true" : "false");
    return buf;
}

std::string HttpApi::metrics_text() const {
    const net::EngineStats& e = *src_.engine;
    std::string out;
    metric(out, "outpost_connections", "gauge", "Engine.IO sessions open.", e.sessions_open);
    metric(out, "outpost_connections_peak", "gauge", "Most sessions open at once since start.", e.sessions_peak);
    metric(out, "outpost_handshakes_ok_total", "counter", "Engine.IO handshakes accepted.", e.handshakes_ok);
    metric(out, "outpost_handshakes_refused_total", "counter", "Engine.IO requests refused with 400.", e.handshakes_refused);
    metric(out, "outpost_handshakes_full_total", "counter", "Handshakes refused with 503 (no free slot).", e.handshakes_full);
    metric(out, "outpost_protocol_errors_total", "counter", "Sessions closed for undecodable input.", e.closed_protocol_error);
    metric(out, "outpost_ping_timeouts_total", "counter", "Sessions closed for a missed heartbeat.", e.closed_ping_timeout);
    metric(out, "outpost_frames_out_total", "counter", "Engine.IO packets sent.", e.frames_out);
    metric(out, "outpost_frames_in_total", "counter", "Engine.IO messages received.", e.frames_in);
    metric(out, "outpost_send_queue_bytes", "gauge", "Bytes waiting in send queues.", e.queued_bytes);
    if (src_.sio) {
        metric(out, "outpost_sockets_connected_total", "counter", "Socket.IO namespace connects accepted.", src_.sio->sockets_connected);
        metric(out, "outpost_connects_refused_total", "counter", "Socket.IO connects refused.", src_.sio->connects_refused);
        metric(out, "outpost_malformed_packets_total", "counter", "Socket.IO packets that closed their session.", src_.sio->malformed_packets);
    }
    metric(out, "outpost_clock_unsynced", "gauge", "1 when the wall clock is before the build date.",
           auth::clock_looks_unsynced(platform::wall_ms() / 1000) ? 1 : 0);
    out += "# HELP outpost_build_info Build version.\n# TYPE outpost_build_info gauge\noutpost_build_info{version=\"";
    out += core::kVersion;
    out += "\"} 1\n";
    return out;
}

net::HttpResponse HttpApi::handle(const net::HttpRequest& req) {
    if (req.method == "GET" && req.path == "/healthz") {
        if (draining_) return json(503, "{\"status\":\"draining\",\"reason\":\"server is shutting down\"}");
        return json(200, "{\"status\":\"ok\"}");
    }
    if (req.method == "GET" && req.path == "/metrics") {
        int status = 0;
        if (settings_.metrics_auth && !is_admin(req.authorization, status))
            return error(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
        return net::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text()};
    }
    if (req.method == "GET" && req.path == "/api/stats") {
        int status = 0;
        if (!is_admin(req.authorization, status))
            return error(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
        return json(200, stats_json());
    }
    if (req.method == "POST" && req.path.rfind("/api/", 0) == 0) return admin_post(req);
    return error(404, "not_found", "no such endpoint");
}

// POST /api/rooms/<room>/messages: `{body, clientId?}` stored as user "system" through the same
// path as message:send; answered once committed.
net::HttpResponse HttpApi::publish(std::string_view room, const cJSON* b, uint64_t reply_token) {
    if (!hub::is_room_name(room)) return error(400, "invalid_payload", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]");
    const cJSON* body = b ? cJSON_GetObjectItemCaseSensitive(b, "body") : nullptr;
    if (!body) return error(400, "invalid_payload", "body: required");
    for (const cJSON* m = b->child; m; m = m->next)
        if (std::string_view(m->string) != "body" && std::string_view(m->string) != "clientId")
            return json(400, std::string("{\"code\":\"invalid_payload\",\"message\":\"") + m->string + ": unknown field\"}");
    std::unique_ptr<char, void (*)(void*)> text(cJSON_PrintUnformatted(body), cJSON_free);
    if (!text || int64_t(std::strlen(text.get())) > settings_.limits.max_body)
        return error(413, "payload_too_large", "body: over limits.max_body");
    const cJSON* cid = cJSON_GetObjectItemCaseSensitive(b, "clientId");
    std::string client_id;
    if (cid) {
        if (!cJSON_IsString(cid) || !hub::is_client_id(cid->valuestring))
            return error(400, "invalid_payload", "clientId: expected 1-64 printable ASCII chars");
        client_id = cid->valuestring;
    } else {
        client_id = "http-" + std::to_string(platform::wall_ms()) + "-" + std::to_string(++published_);
    }
    src_.hub->publish(room, text.get(), client_id, reply_token);
    net::HttpResponse r;
    r.deferred = true;
    return r;
}

// POST /api/broadcast and /api/users/<id>/disconnect (PROTOCOL.md §10).
net::HttpResponse HttpApi::admin_post(const net::HttpRequest& req) {
    int status = 0;
    if (!is_admin(req.authorization, status))
        return error(status, status == 403 ? "forbidden" : "unauthorized", "admin token required");
    if (!src_.hub) return error(404, "not_found", "no application in conformance mode");
    std::unique_ptr<cJSON, void (*)(cJSON*)> body(cJSON_ParseWithLength(req.body.data(), req.body.size()), cJSON_Delete);
    if (!req.body.empty() && !cJSON_IsObject(body.get())) return error(400, "invalid_payload", "body: expected a JSON object");
    const cJSON* b = body.get();
    auto text = [&](const char* key) -> const char* {
        const cJSON* v = b ? cJSON_GetObjectItemCaseSensitive(b, key) : nullptr;
        return cJSON_IsString(v) ? v->valuestring : nullptr;
    };
    if (req.path == "/api/broadcast") {
        const char* message = text("message");
        if (!message || !*message) return error(400, "invalid_payload", "message: required, expected a non-empty string");
        src_.hub->broadcast_maintenance(message);
        return json(200, "{\"ok\":true}");
    }
    constexpr std::string_view kRooms = "/api/rooms/", kMessages = "/messages";
    if (req.path.rfind(kRooms, 0) == 0 && req.path.size() > kRooms.size() + kMessages.size() &&
        req.path.substr(req.path.size() - kMessages.size()) == kMessages)
        return publish(req.path.substr(kRooms.size(), req.path.size() - kRooms.size() - kMessages.size()), b, req.reply_token);
    constexpr std::string_view kUsers = "/api/users/", kDisconnect = "/disconnect";
    if (req.path.rfind(kUsers, 0) == 0 && req.path.size() > kUsers.size() + kDisconnect.size() &&
        req.path.substr(req.path.size() - kDisconnect.size()) == kDisconnect) {
        std::string_view user = req.path.substr(kUsers.size(), req.path.size() - kUsers.size() - kDisconnect.size());
        if (!auth::is_valid_user_id(user)) return error(400, "invalid_payload", "userId: expected 1-64 chars of [A-Za-z0-9_.@-]");
        const char* reason = text("reason");
        size_t n = src_.hub->disconnect_user(user, reason ? reason : "");
        return json(200, "{\"ok\":true,\"sockets\":" + std::to_string(n) + "}");
    }
    return error(404, "not_found", "no such endpoint");
}

} // namespace outpost::admin
