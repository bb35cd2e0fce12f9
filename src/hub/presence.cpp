// presence.cpp - Who is online (with the grace period), presence:set/get, and typing (see hub.h).
#include "hub/hub.h"

#include <algorithm>

#include "hub/internal.h"

namespace outpost::hub {

size_t Hub::devices(const User& u) {
    size_t n = 0;
    for (size_t i = 0; i < u.sockets.size(); ++i) {
        const Socket* socket = find_socket(u.sockets[i]);
        if (!socket) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; ++j)
            if (const Socket* o = find_socket(u.sockets[j])) seen = o->device_id == socket->device_id;
        n += !seen;
    }
    return n;
}

void Hub::presence_broadcast(const User& u, const pool::FrameRef& f, bool include_own) {
    std::string own = include_own ? std::string() : user_room(u.id);
    if (settings_.presence.scope != "rooms") {
        adapter_->to_all(f, own);
        return;
    }
    // Scope "rooms": sockets of users sharing a room with `u`, and admins; each once.
    std::vector<sio::SocketId> to(admins_);
    for (uint32_t rid : u.rooms)
        if (const auto* v = adapter_->sockets(rooms_[rid].name)) to.insert(to.end(), v->begin(), v->end());
    if (include_own) to.insert(to.end(), u.sockets.begin(), u.sockets.end());
    auto key = [](sio::SocketId a) { return a.session.pack(); };
    std::sort(to.begin(), to.end(), [&](auto a, auto b) { return key(a) < key(b); });
    to.erase(std::unique(to.begin(), to.end()), to.end());
    std::vector<sio::SocketId> full;
    for (sio::SocketId socket_id : to) {
        if (!include_own && std::find(u.sockets.begin(), u.sockets.end(), socket_id) != u.sockets.end()) continue;
        if (!layer_->send_frame(socket_id, f)) full.push_back(socket_id);
    }
    for (sio::SocketId socket_id : full) on_slow_consumer(socket_id);
}

void Hub::user_came(User& u, sio::SocketId socket_id, const Socket& socket) {
    if (!socket.identity.name.empty()) u.name = socket.identity.name;
    u.sockets.push_back(socket_id);
    adapter_->join(user_room(u.id), socket_id);
    for (uint32_t rid : u.rooms) adapter_->join(rooms_[rid].name, socket_id);
    if (socket.identity.admin) admins_.push_back(socket_id);
    if (u.sockets.size() != 1) return;
    if (u.offline_due) {
        u.offline_due = 0; // back within the grace period: nobody noticed
        return;
    }
    if (u.online) return;
    u.online = true;
    ++stats_.users_online;
    presence_broadcast(u, frame("user:online", wire::user_online(u.id, u.name, clock_wall_ms())), false);
}

void Hub::user_left(User& u, sio::SocketId socket_id) {
    u.sockets.erase(std::remove(u.sockets.begin(), u.sockets.end(), socket_id), u.sockets.end());
    std::vector<std::string> names{user_room(u.id)};
    for (uint32_t rid : u.rooms) names.push_back(rooms_[rid].name);
    adapter_->leave_all(socket_id, names);
    admins_.erase(std::remove(admins_.begin(), admins_.end(), socket_id), admins_.end());
    if (!u.sockets.empty()) return;
    u.last_seen = clock_wall_ms();
    u.offline_due = clock_mono_ms() + settings_.presence.grace_ms;
    layer_->transport().timers().schedule(u.offline_due, offline_cb, this, u.uid);
    for (uint32_t rid : u.rooms) stop_typing(rooms_[rid], u.uid, true);
}

void Hub::offline_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    if (arg >= self->users_.size()) return;
    User& u = self->users_[arg];
    if (!u.sockets.empty() || !u.offline_due || now < u.offline_due) return;
    u.offline_due = 0;
    u.online = false;
    --self->stats_.users_online;
    self->presence_broadcast(u, self->frame("user:offline", wire::user_offline(u.id, self->clock_wall_ms(), u.last_seen)), false);
}

void Hub::on_presence_set(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    User& u = users_[socket.uid];
    u.status = status_index(string_field(payload, "status"));
    const char* name = kStatuses[u.status];
    reply_ok(socket_id, event.ack_id, wire::status_fields(name));
    presence_broadcast(u, frame("presence:update", wire::presence_update(u.id, name, clock_wall_ms())), true);
}

void Hub::on_presence_get(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    const cJSON* ids = cJSON_GetObjectItemCaseSensitive(payload, "userIds");
    const char* room_name = string_field(payload, "room");
    if ((ids != nullptr) == (room_name != nullptr))
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::invalid_payload, "userIds: give either userIds or room");
    std::vector<std::string> who;
    if (ids) {
        for (const cJSON* i = ids->child; i; i = i->next) who.emplace_back(i->valuestring);
    } else {
        Room* r = find_room(room_name);
        if (!r || !is_member(users_[socket.uid], *r)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::not_member, "room: you are not a member");
        for (const auto& [id, seq] : r->members) who.emplace_back(id);
    }
    std::vector<wire::PresenceState> states;
    for (const std::string& id : who) {
        auto it = user_index_.find(id);
        const User* u = it == user_index_.end() ? nullptr : &users_[it->second];
        bool online = u && u->online;
        states.push_back({id, online, online ? kStatuses[u->status] : "offline", online || !u ? 0 : u->last_seen, u ? devices(*u) : 0});
    }
    reply_ok(socket_id, event.ack_id, wire::presence_fields(states));
}

// ---------------------------------------------------------------- typing

void Hub::stop_typing(Room& r, uint32_t uid, bool notify) {
    auto it = std::find_if(r.typing.begin(), r.typing.end(), [&](auto& t) { return t.first == uid; });
    if (it == r.typing.end()) return;
    r.typing.erase(it);
    if (!notify) return;
    const User& u = users_[uid];
    adapter_->to_room(r.name, frame("user:typing", wire::typing(r.name, u.id, false)),
                      {}, user_room(u.id));
}

void Hub::on_typing(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    std::string name = string_field(payload, "room");
    bool active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "active"));
    Room* r = find_room(name);
    User& u = users_[socket.uid];
    if (!r || !is_member(u, *r)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::not_member, "room: you are not a member");
    reply_ok(socket_id, event.ack_id, "");
    if (!active) {
        stop_typing(*r, u.uid, false);
    } else {
        int64_t due = clock_mono_ms() + kTypingExpiryMs;
        auto it = std::find_if(r->typing.begin(), r->typing.end(), [&](auto& t) { return t.first == u.uid; });
        if (it == r->typing.end()) r->typing.emplace_back(u.uid, due);
        else it->second = due;
        layer_->transport().timers().schedule(due, typing_cb, this, (uint64_t(room_key(*r)) << 32) | u.uid);
    }
    adapter_->to_room(r->name, frame("user:typing", wire::typing(r->name, u.id, active)),
                      {}, user_room(u.id));
}

void Hub::typing_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    uint32_t uid = uint32_t(arg);
    Room* found = self->room_by_key(uint32_t(arg >> 32));
    if (!found) return;
    Room& r = *found;
    auto it = std::find_if(r.typing.begin(), r.typing.end(), [&](auto& t) { return t.first == uid; });
    if (it != r.typing.end() && now >= it->second) self->stop_typing(r, uid, true);
}

} // namespace outpost::hub
