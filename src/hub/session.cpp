// session.cpp - A socket's life on "/": connect, token expiry and refresh, disconnect, admin cuts (see hub.h).
#include "hub/hub.h"

#include <cjson/cJSON.h>

#include <algorithm>

#include "auth/rooms.h"
#include "core/credentials.h"
#include "core/log.h"
#include "hub/internal.h"
#include "proto/json.h"

namespace outpost::hub {

auth::VerifyResult Hub::verify(std::string_view token) const {
    if (!keys_) return auth::AuthError{auth::AuthCode::token_signature, "no key loaded"};
    int64_t now_s = clock_wall_ms() / 1000;
    auth::Policy policy = auth::policy_from_settings(settings_.auth);
    policy.clock_unsynced = auth::clock_looks_unsynced(now_s);
    return auth::verify(token, *keys_, now_s, policy);
}

// The CONNECT payload's token and deviceId (v3 devices: the handshake's ?deviceId=); false when
// the socket was refused for a malformed one.
bool Hub::read_credentials(sio::SocketId socket_id, const sio::ConnectRequest& req, std::string& token, std::string& device_id) {
    const std::string bad_device = wire::refusal("deviceId must be 1-64 chars of [A-Za-z0-9_.@-]", "invalid_payload");
    if (req.auth && proto::json::may_hold_nul(req.auth_raw)) { // cJSON would read "a\u0000b" as "a"
        std::vector<proto::json::Member> members;
        if (!proto::json::members(req.auth_raw, members)) {
            layer_->refuse(socket_id, wire::refusal("CONNECT payload: could not be read", "invalid_payload"));
            return false;
        }
        for (const proto::json::Member& m : members) {
            std::string_view name(m.key.c_str()); // what cJSON reads: up to a NUL
            if ((name != "token" && name != "deviceId") || !(m.value.nul || m.key_nul)) continue;
            bool is_token = name == "token";
            layer_->refuse(socket_id, wire::refusal(std::string(name) + ": holds a NUL character", is_token ? "token_malformed" : "invalid_payload"));
            return false;
        }
    }
    if (req.auth) {
        if (const char* t = string_field(req.auth, "token")) token = t;
        const cJSON* d = cJSON_GetObjectItemCaseSensitive(req.auth, "deviceId");
        if (d) {
            if (!cJSON_IsString(d) || !auth::is_valid_user_id(d->valuestring)) {
                layer_->refuse(socket_id, bad_device);
                return false;
            }
            device_id = d->valuestring;
        }
    } else if (!req.query_device_id.empty()) {
        // An Engine.IO v3 device names itself with ?deviceId= on the handshake (PROTOCOL.md §13).
        if (!auth::is_valid_user_id(req.query_device_id)) {
            layer_->refuse(socket_id, bad_device);
            return false;
        }
        device_id = std::string(req.query_device_id);
    }
    if (token.empty()) token = std::string(core::bearer_token(req.authorization));
    if (token.empty()) token = std::string(req.query_token);
    return true;
}

// A token that failed verification: counted, logged (at most kAuthLogPerSecond lines a second;
// the next line counts those left out) and refused with its auth code.
void Hub::refuse_token(sio::SocketId socket_id, const sio::ConnectRequest& req, const auth::AuthError& error) {
    ++stats_.auth_failures[int(error.code)];
    std::string_view code = auth::auth_code_name(error.code);
    int64_t now = clock_mono_ms();
    if (now - auth_log_window_ >= 1000) {
        auth_log_window_ = now;
        auth_log_lines_ = 0;
    }
    if (auth_log_lines_ < kAuthLogPerSecond) {
        ++auth_log_lines_;
        OUTPOST_LOG(info, "auth_refused", "remote=%.*s code=%.*s detail=\"%s\" not_logged=%llu", int(req.remote_addr.size()),
                    req.remote_addr.data(), int(code.size()), code.data(), error.detail.c_str(), (unsigned long long)auth_log_skipped_);
        auth_log_skipped_ = 0;
    } else {
        ++auth_log_skipped_;
    }
    layer_->refuse(socket_id, wire::refusal(auth::auth_code_message(error.code), code));
}

void Hub::on_connect(sio::SocketId socket_id, const sio::ConnectRequest& req) {
    std::string token, device_id = "default";
    if (!read_credentials(socket_id, req, token, device_id)) return;
    auth::VerifyResult verified = token.empty() ? auth::VerifyResult(auth::AuthError{auth::AuthCode::token_missing, "no token"})
                                                : verify(token);
    if (!verified.ok()) return refuse_token(socket_id, req, verified.error());
    if (!user_index_.count(verified->user_id) && int64_t(users_.size()) >= settings_.limits.max_users)
        return layer_->refuse(socket_id, wire::refusal("the server holds limits.max_users users", "unavailable"));
    Socket* slot = socket_table_.claim(socket_id.session);
    if (!slot) return layer_->refuse(socket_id, wire::refusal("the server holds max_connections sockets", "unavailable"));
    Socket& socket = *slot;
    socket = Socket();
    socket.identity = std::move(verified).value();
    socket.device_id = device_id;
    reset_buckets(socket, clock_mono_ms());
    ++socket_count_;
    ++stats_.connects_ok;
    std::string sid = layer_->accept(socket_id);
    OUTPOST_LOG(info, "connect", "user=%s device=%s remote=%.*s eio=%d", socket.identity.user_id.c_str(), socket.device_id.c_str(),
                int(req.remote_addr.size()), req.remote_addr.data(), req.eio);
    layer_->emit(socket_id, wire::established({socket.identity.user_id, sid, socket.device_id, clock_wall_ms(), settings_.ping_interval_ms,
                                               settings_.ping_timeout_ms, settings_.max_payload, settings_.limits.max_body}));
    User& u = user(socket.identity.user_id);
    socket.uid = u.uid;
    user_came(u, socket_id, socket);
    revoke_rooms(u, socket);
    sync(socket_id, socket, u);
    schedule_expiry(socket_id, socket);
}

// PROTOCOL.md §5: rooms the connecting token (its `rooms` claim or auth.default_rooms) no longer
// grants are left as room:leave would leave them, and the user's sockets hear room:revoked right
// after connection:established. Memory leaves at once (no replay, live events or sends there);
// the store follows. Direct rooms are never granted by patterns and are not affected.
void Hub::revoke_rooms(User& u, const Socket& socket) {
    std::vector<uint32_t> gone;
    for (uint32_t rid : u.rooms)
        if (!is_reserved_room(rooms_[rid].name) && !auth::may_join(socket.identity, rooms_[rid].name, settings_.auth.default_rooms))
            gone.push_back(rid);
    for (uint32_t rid : gone) {
        Room& r = rooms_[rid];
        remove_member(u, r);
        adapter_->to_room(r.name, frame("room:member_left", wire::room_user(r.name, u.id)),
                          {}, user_room(u.id));
        adapter_->to_room(user_room(u.id), frame("room:revoked", wire::room_revoked(r.name)));
        OUTPOST_LOG(info, "room_revoked", "user=%s room=%s", u.id.c_str(), r.name.c_str());
        uint64_t token = next_token_++;
        pending_[token] = Pending{Pending::revoke, {}, -1, r.name, u.id, "room:revoked"};
        if (store_) store_->submit_leave(token, r.name, u.id);
        else complete(done(token));
        reclaim_if_empty(r);
    }
}

void Hub::on_disconnect(sio::SocketId socket_id, std::string_view reason) {
    Socket* socket = find_socket(socket_id);
    if (!socket) return;
    OUTPOST_LOG(info, "disconnect", "user=%s device=%s reason=\"%.*s\"", socket->identity.user_id.c_str(), socket->device_id.c_str(),
                int(reason.size()), reason.data());
    user_left(users_[socket->uid], socket_id);
    recent_disconnects_.push_back(std::to_string(clock_wall_ms()) + " " + socket->identity.user_id + " " + std::string(reason));
    if (recent_disconnects_.size() > kRecentDisconnects) recent_disconnects_.pop_front();
    socket->identity = auth::Identity();
    socket_table_.release(socket_id.session);
    --socket_count_;
}

// The cut is at exp + leeway; auth:expiring goes refresh_warning_s before it (at once when
// already inside that window). Deadlines are monotonic so a clock step does not cut everybody.
void Hub::schedule_expiry(sio::SocketId socket_id, Socket& socket) {
    socket.cut_mono = socket.warn_mono = INT64_MAX;
    if (!socket.identity.exp) return;
    int64_t now_wall = clock_wall_ms(), now_mono = clock_mono_ms();
    int64_t cut_wall = (*socket.identity.exp + settings_.auth.leeway_s) * 1000;
    socket.cut_mono = now_mono + (cut_wall - now_wall);
    socket.warn_mono = std::max(now_mono, socket.cut_mono - settings_.auth.refresh_warning_s * 1000);
    // One timer per socket at a time: the warning's timer schedules the cut.
    layer_->transport().timers().schedule(socket.warn_mono, expiry_cb, this, socket_id.session.pack());
}

void Hub::expiry_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    sio::SocketId socket_id{net::SessionId::unpack(arg), 0};
    Socket* socket = self->find_socket(socket_id);
    if (!socket) return;
    if (now >= socket->cut_mono) {
        ++self->stats_.expired_cuts;
        self->cut(socket_id, "token_expired", "token expired");
        return;
    }
    if (now >= socket->warn_mono) {
        socket->warn_mono = INT64_MAX;
        int64_t cut = socket->cut_mono;
        self->layer_->transport().timers().schedule(cut, expiry_cb, self, arg);
        self->layer_->emit(socket_id, wire::auth_expiring(cut - now));
    }
}

void Hub::on_auth_refresh(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    auth::VerifyResult r = verify(string_field(payload, "token"));
    if (!r.ok()) {
        ++stats_.auth_failures[int(r.code())];
        return send_error(socket_id, event.ack_id, event.name, auth::auth_code_name(r.code()), auth::auth_code_message(r.code()));
    }
    if (r->user_id != socket.identity.user_id)
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::forbidden, "the new token is for another user");
    bool was_admin = socket.identity.admin;
    socket.identity = std::move(r).value();
    if (was_admin != socket.identity.admin) {
        if (socket.identity.admin) admins_.push_back(socket_id);
        else admins_.erase(std::remove(admins_.begin(), admins_.end(), socket_id), admins_.end());
    }
    schedule_expiry(socket_id, socket);
    reply_ok(socket_id, event.ack_id, wire::exp_fields(socket.identity.exp));
}

void Hub::on_slow_consumer(sio::SocketId socket_id) {
    if (!find_socket(socket_id)) return;
    ++stats_.slow_consumer_cuts;
    // A polling client that stopped polling has gone: said as such, not as a slow reader.
    if (layer_->transport().poll_abandoned(socket_id.session))
        OUTPOST_LOG(info, "abandoned_poll", "session=%u queued=%zu", socket_id.session.index, layer_->transport().queued_bytes(socket_id.session));
    else
        OUTPOST_LOG(info, "slow_consumer", "session=%u limit=%lld", socket_id.session.index, (long long)settings_.limits.max_send_queue_bytes);
    cut(socket_id, "slow_consumer", "send queue over limits.max_send_queue_bytes");
}

// ---------------------------------------------------------------- admin

void Hub::broadcast_maintenance(std::string_view message) {
    adapter_->to_all(frame("system:maintenance", wire::maintenance(message, clock_wall_ms())));
}

size_t Hub::disconnect_user(std::string_view user_id, std::string_view reason) {
    auto it = user_index_.find(user_id);
    if (it == user_index_.end()) return 0;
    const auto& list = users_[it->second].sockets;
    std::vector<sio::SocketId> socks(list.begin(), list.end()); // cut() changes the list
    for (sio::SocketId socket_id : socks) cut(socket_id, "disconnected_by_admin", reason.empty() ? "disconnected by an administrator" : reason);
    stats_.admin_disconnects += socks.size();
    return socks.size();
}

void Hub::on_admin_broadcast(sio::SocketId socket_id, Socket&, const sio::Event& event, const cJSON* payload) {
    broadcast_maintenance(string_field(payload, "message"));
    reply_ok(socket_id, event.ack_id, "");
}

void Hub::on_admin_disconnect(sio::SocketId socket_id, Socket&, const sio::Event& event, const cJSON* payload) {
    const char* reason = string_field(payload, "reason");
    size_t n = disconnect_user(string_field(payload, "userId"), reason ? reason : "");
    if (find_socket(socket_id)) reply_ok(socket_id, event.ack_id, wire::disconnected_fields(string_field(payload, "userId"), n));
}

void Hub::on_admin_stats(sio::SocketId socket_id, Socket&, const sio::Event& event, const cJSON*) {
    std::string stats = stats_json_ ? stats_json_() : std::string("{}");
    // The ack is {ok:true, ...stats}: splice the stats object's members after "ok".
    std::string inner = stats.size() > 2 ? stats.substr(1, stats.size() - 2) : std::string();
    reply_ok(socket_id, event.ack_id, inner);
}

} // namespace outpost::hub
