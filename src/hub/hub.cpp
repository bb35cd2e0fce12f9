// hub.cpp - Authenticated sockets on "/" and the event router (see hub.h).
#include "hub/hub.h"

#include <cjson/cJSON.h>

#include <memory>

#include "core/log.h"
#include "platform/platform.h"

namespace outpost::hub {
namespace {

std::string json_string(std::string_view s) {
    std::unique_ptr<cJSON, void (*)(cJSON*)> j(cJSON_CreateString(std::string(s).c_str()), cJSON_Delete);
    std::unique_ptr<char, void (*)(void*)> text(cJSON_PrintUnformatted(j.get()), cJSON_free);
    return text ? std::string(text.get()) : std::string("\"\"");
}

const cJSON* payload_object(const sio::Event& e) {
    const cJSON* p = cJSON_GetArrayItem(e.args, 1);
    return cJSON_IsObject(p) ? p : nullptr;
}

std::string_view bearer(std::string_view header) {
    constexpr std::string_view kPrefix = "Bearer ";
    if (header.size() > kPrefix.size() && header.substr(0, kPrefix.size()) == kPrefix) return header.substr(kPrefix.size());
    return {};
}

} // namespace

std::string_view error_code_name(ErrorCode c) {
    switch (c) {
    case ErrorCode::invalid_payload: return "invalid_payload";
    case ErrorCode::unknown_event: return "unknown_event";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_member: return "not_member";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::payload_too_large: return "payload_too_large";
    case ErrorCode::room_full: return "room_full";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
    }
    return "internal";
}

const Hub::Route Hub::kRoutes[] = {
    {"auth:refresh", &Hub::on_auth_refresh, false},
};

Hub::Hub(const settings::Settings& settings, size_t max_sessions) : settings_(settings), socks_(max_sessions) {}

void Hub::set_settings(const settings::Settings& s) { settings_ = s; }

Hub::Sock* Hub::sock(sio::SocketId s) {
    if (s.session.index >= socks_.size()) return nullptr;
    Sock& k = socks_[s.session.index];
    return k.live && k.gen == s.session.gen ? &k : nullptr;
}

auth::VerifyResult Hub::verify(std::string_view token) const {
    if (!keys_) return auth::AuthError{auth::AuthCode::token_signature, "no key loaded"};
    int64_t now_s = platform::wall_ms() / 1000;
    auth::Policy policy = auth::policy_from_settings(settings_.auth);
    policy.clock_unsynced = auth::clock_looks_unsynced(now_s);
    return auth::verify(token, *keys_, now_s, policy);
}

// ---------------------------------------------------------------- connect

void Hub::on_connect(sio::SocketId s, const sio::ConnectRequest& req) {
    std::string token, device_id = "default";
    if (req.auth) {
        const cJSON* t = cJSON_GetObjectItemCaseSensitive(req.auth, "token");
        if (cJSON_IsString(t)) token = t->valuestring;
        const cJSON* d = cJSON_GetObjectItemCaseSensitive(req.auth, "deviceId");
        if (d) {
            if (!cJSON_IsString(d) || !auth::is_valid_user_id(d->valuestring)) {
                layer_->refuse(s, "{\"message\":\"deviceId must be 1-64 chars of [A-Za-z0-9_.@-]\",\"data\":{\"code\":\"invalid_payload\"}}");
                return;
            }
            device_id = d->valuestring;
        }
    }
    if (token.empty()) token = std::string(bearer(req.authorization));
    if (token.empty()) token = std::string(req.query_token);
    auth::VerifyResult r = token.empty() ? auth::VerifyResult(auth::AuthError{auth::AuthCode::token_missing, "no token"})
                                         : verify(token);
    if (!r.ok()) {
        ++stats_.auth_failures[int(r.code())];
        std::string_view code = auth::auth_code_name(r.code());
        OUTPOST_LOG(info, "auth_refused", "remote=%.*s code=%.*s detail=\"%s\"", int(req.remote_addr.size()),
                    req.remote_addr.data(), int(code.size()), code.data(), r.error().detail.c_str());
        std::string_view msg = auth::auth_code_message(r.code());
        layer_->refuse(s, "{\"message\":" + json_string(msg) + ",\"data\":{\"code\":\"" + std::string(code) + "\"}}");
        return;
    }
    Sock& k = socks_[s.session.index];
    k = Sock();
    k.gen = s.session.gen;
    k.live = true;
    k.identity = std::move(r).value();
    k.device_id = device_id;
    ++sockets_;
    ++stats_.connects_ok;
    std::string sid = layer_->accept(s);
    OUTPOST_LOG(info, "connect", "user=%s device=%s remote=%.*s eio=%d", k.identity.user_id.c_str(), k.device_id.c_str(),
                int(req.remote_addr.size()), req.remote_addr.data(), req.eio);
    std::string est = "[\"connection:established\",{\"userId\":" + json_string(k.identity.user_id) +
                      ",\"sid\":\"" + sid + "\",\"deviceId\":" + json_string(k.device_id) +
                      ",\"serverTime\":" + std::to_string(platform::wall_ms()) +
                      ",\"recovered\":false,\"heartbeat\":{\"intervalMs\":" + std::to_string(settings_.ping_interval_ms) +
                      ",\"timeoutMs\":" + std::to_string(settings_.ping_timeout_ms) +
                      "},\"limits\":{\"maxPayload\":" + std::to_string(settings_.max_payload) +
                      ",\"maxBody\":" + std::to_string(settings_.limits.max_body) + "}}]";
    layer_->emit(s, est);
    schedule_expiry(s, k);
}

void Hub::on_disconnect(sio::SocketId s, std::string_view reason) {
    Sock* k = sock(s);
    if (!k) return;
    OUTPOST_LOG(info, "disconnect", "user=%s device=%s reason=\"%.*s\"", k->identity.user_id.c_str(), k->device_id.c_str(),
                int(reason.size()), reason.data());
    k->live = false;
    k->identity = auth::Identity();
    --sockets_;
}

// ---------------------------------------------------------------- expiry

// The cut is at exp + leeway; auth:expiring goes refresh_warning_s before it (at once when
// already inside that window). Deadlines are kept in monotonic time so a clock step does not
// cut everybody at once.
void Hub::schedule_expiry(sio::SocketId s, Sock& k) {
    k.cut_mono = k.warn_mono = INT64_MAX;
    if (!k.identity.exp) return;
    int64_t now_wall = platform::wall_ms(), now_mono = layer_->transport().now_ms();
    int64_t cut_wall = (*k.identity.exp + settings_.auth.leeway_s) * 1000;
    k.cut_mono = now_mono + (cut_wall - now_wall);
    k.warn_mono = k.cut_mono - settings_.auth.refresh_warning_s * 1000;
    if (k.warn_mono < now_mono) k.warn_mono = now_mono;
    core::Timers& t = layer_->transport().timers();
    t.schedule(k.warn_mono, expiry_cb, this, s.session.pack());
    t.schedule(k.cut_mono, expiry_cb, this, s.session.pack());
}

void Hub::expiry_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    sio::SocketId s{net::SessionId::unpack(arg), 0};
    Sock* k = self->sock(s);
    if (!k) return;
    if (now >= k->cut_mono) {
        ++self->stats_.expired_cuts;
        self->cut(s, "token_expired", "token expired");
        return;
    }
    if (now >= k->warn_mono) {
        k->warn_mono = INT64_MAX;
        int64_t left = k->cut_mono - now;
        self->layer_->emit(s, "[\"auth:expiring\",{\"expiresInMs\":" + std::to_string(left) + "}]");
    }
}

// PROTOCOL.md §13: server:error first (past the send-queue limit), then DISCONNECT, then close.
void Hub::cut(sio::SocketId s, std::string_view code, std::string_view message) {
    layer_->emit(s, "[\"server:error\",{\"code\":\"" + std::string(code) + "\",\"message\":" + json_string(message) + "}]",
                 nullptr, nullptr, 0, 0, true);
    layer_->disconnect(s, true);
}

// ---------------------------------------------------------------- events

void Hub::reply_ok(sio::SocketId s, const sio::Event& e, std::string_view fields_json) {
    if (e.ack_id < 0) return;
    std::string body = "[{\"ok\":true";
    if (!fields_json.empty()) body += "," + std::string(fields_json);
    body += "}]";
    layer_->ack(s, e.ack_id, body);
}

void Hub::reply_error(sio::SocketId s, const sio::Event& e, ErrorCode code, std::string_view message) {
    ++stats_.errors_out;
    std::string err = "{\"code\":\"" + std::string(error_code_name(code)) + "\",\"message\":" + json_string(message);
    if (e.ack_id >= 0) {
        layer_->ack(s, e.ack_id, "[{\"ok\":false,\"error\":" + err + "}}]");
        return;
    }
    layer_->emit(s, "[\"server:error\"," + err + ",\"event\":" + json_string(e.name) + "}]");
}

void Hub::on_event(sio::SocketId s, const sio::Event& e) {
    Sock* k = sock(s);
    if (!k) return;
    ++stats_.events_in;
    if (e.attachments) return reply_error(s, e, ErrorCode::invalid_payload, "binary attachments are not accepted");
    for (const Route& r : kRoutes) {
        if (r.name != e.name) continue;
        if (r.admin && !k->identity.admin) return reply_error(s, e, ErrorCode::forbidden, "admin only");
        return (this->*r.handler)(s, *k, e);
    }
    reply_error(s, e, ErrorCode::unknown_event, "unknown event \"" + std::string(e.name) + "\"");
}

void Hub::on_auth_refresh(sio::SocketId s, Sock& k, const sio::Event& e) {
    const cJSON* p = payload_object(e);
    const cJSON* t = p ? cJSON_GetObjectItemCaseSensitive(p, "token") : nullptr;
    if (!cJSON_IsString(t) || !*t->valuestring)
        return reply_error(s, e, ErrorCode::invalid_payload, "token: expected a non-empty string");
    auth::VerifyResult r = verify(t->valuestring);
    if (!r.ok()) {
        ++stats_.auth_failures[int(r.code())];
        std::string_view code = auth::auth_code_name(r.code());
        ++stats_.errors_out;
        std::string err = "{\"code\":\"" + std::string(code) + "\",\"message\":" + json_string(auth::auth_code_message(r.code())) + "}";
        if (e.ack_id >= 0) layer_->ack(s, e.ack_id, "[{\"ok\":false,\"error\":" + err + "}]");
        else layer_->emit(s, "[\"server:error\",{\"code\":\"" + std::string(code) + "\",\"message\":" +
                                 json_string(auth::auth_code_message(r.code())) + ",\"event\":\"auth:refresh\"}]");
        return;
    }
    if (r->user_id != k.identity.user_id)
        return reply_error(s, e, ErrorCode::forbidden, "the new token is for another user");
    k.identity = std::move(r).value();
    schedule_expiry(s, k);
    reply_ok(s, e, k.identity.exp ? "\"exp\":" + std::to_string(*k.identity.exp) : std::string("\"exp\":null"));
}

} // namespace outpost::hub
