// rooms.cpp - Room membership: join, leave, members, their limits and the store's completions (see hub.h).
#include "hub/hub.h"

#include <algorithm>

#include "auth/rooms.h"
#include "core/log.h"
#include "hub/internal.h"

namespace outpost::hub {

bool Hub::is_member(const User& u, const Room& r) const { return r.members.count(u.id) != 0; }

// The room named by the payload's "room" when the socket's user is a member; otherwise answers
// not_member (PROTOCOL.md §13: every room event but room:join) and returns null.
Hub::Room* Hub::member_room(sio::SocketId socket_id, const Socket& socket, const sio::Event& event, const cJSON* payload) {
    Room* r = find_room(string_field(payload, "room"));
    if (r && is_member(users_[socket.uid], *r)) return r;
    reply_error(socket_id, event.ack_id, event.name, ErrorCode::not_member, "room: you are not a member");
    return nullptr;
}

void Hub::add_member(User& u, Room& r, int64_t joined_seq) {
    if (!r.members.emplace(u.id, joined_seq).second) return;
    u.rooms.push_back(r.rid);
    u.dm_rooms += is_dm_room(r.name);
    for (sio::SocketId socket_id : u.sockets) adapter_->join(r.name, socket_id);
}

void Hub::remove_member(User& u, Room& r) {
    if (!r.members.erase(u.id)) return;
    u.rooms.erase(std::remove(u.rooms.begin(), u.rooms.end(), r.rid), u.rooms.end());
    u.dm_rooms -= is_dm_room(r.name);
    // The store drops the user's cursors in the room with the membership; so does memory, so a
    // later join starts from the new joined_seq.
    if (u.receipts) {
        for (auto& [device, cursors] : u.receipts->cursors) cursors.erase(r.rid);
        u.receipts->highest.erase(r.rid);
    }
    for (sio::SocketId socket_id : u.sockets) adapter_->leave(r.name, socket_id);
    stop_typing(r, u.uid, true);
}

// ---------------------------------------------------------------- joins in flight

bool Hub::joining(const User& u, const Room& r) const { return joining_.pairs.count(pair_key(u.uid, r.rid)) != 0; }

void Hub::join_begin(const User& u, const Room& r) {
    if (joining_.pairs[pair_key(u.uid, r.rid)]++ != 0) return;
    ++joining_.by_user[uint64_t(u.uid) * 2 + is_dm_room(r.name)];
    ++joining_.by_room[r.rid];
}

void Hub::join_end(std::string_view user_id, std::string_view room_name) {
    auto u = user_index_.find(user_id);
    Room* r = find_room(room_name);
    if (u == user_index_.end() || !r) return;
    auto it = joining_.pairs.find(pair_key(u->second, r->rid));
    if (it == joining_.pairs.end() || --it->second != 0) return;
    joining_.pairs.erase(it);
    auto drop = [](auto& map, auto key) {
        auto i = map.find(key);
        if (i != map.end() && --i->second == 0) map.erase(i);
    };
    drop(joining_.by_user, uint64_t(u->second) * 2 + is_dm_room(r->name));
    drop(joining_.by_room, r->rid);
}

size_t Hub::rooms_held(const User& u, bool dm) const {
    size_t held = dm ? u.dm_rooms : u.rooms.size() - u.dm_rooms;
    auto it = joining_.by_user.find(uint64_t(u.uid) * 2 + dm);
    return held + (it == joining_.by_user.end() ? 0 : it->second);
}

size_t Hub::members_held(const Room& r) const {
    auto it = joining_.by_room.find(r.rid);
    return r.members.size() + (it == joining_.by_room.end() ? 0 : it->second);
}

// ---------------------------------------------------------------- room events

std::string Hub::joined_fields(const Room& r) const {
    std::vector<std::string_view> listed;
    for (const auto& [id, seq] : r.members) {
        if (listed.size() == kMaxMembersListed) break;
        listed.push_back(id);
    }
    int64_t seq = store_ ? store_->latest_seq(r.name) : 0;
    return wire::joined_fields(r.name, seq, listed, r.members.size() > kMaxMembersListed);
}

void Hub::on_room_join(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    std::string name = string_field(payload, "room");
    if (is_reserved_room(name)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::forbidden, "room: reserved name");
    if (!auth::may_join(socket.identity, name, settings_.auth.default_rooms))
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::forbidden, "room: not allowed by your token");
    User& u = users_[socket.uid];
    Room* existing = find_room(name);
    if (existing && is_member(u, *existing)) return reply_ok(socket_id, event.ack_id, joined_fields(*existing));
    // Pending joins count like committed ones (pipelined joins must not pass the limits); a second
    // join of a room whose first is still in flight adds nothing.
    if (!existing || !joining(u, *existing)) {
        if (int64_t(rooms_held(u, false)) >= settings_.limits.max_rooms_per_user)
            return reply_error(socket_id, event.ack_id, event.name, ErrorCode::room_full, "you are in limits.max_rooms_per_user rooms already");
        if (existing && int64_t(members_held(*existing)) >= settings_.limits.max_members_per_room)
            return reply_error(socket_id, event.ack_id, event.name, ErrorCode::room_full, "room has limits.max_members_per_room members");
    }
    if (!existing && rooms_full())
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::room_full, "the server holds limits.max_rooms rooms");
    join_begin(u, existing ? *existing : room(name));
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::join, socket_id, event.ack_id, name, u.id, std::string(event.name)};
    if (store_) store_->submit_join(token, name, u.id);
    else complete(done(token));
}

void Hub::on_room_leave(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    std::string name = string_field(payload, "room");
    Room* r = find_room(name);
    if (!r || !is_member(users_[socket.uid], *r)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::not_member, "room: you are not a member");
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::leave, socket_id, event.ack_id, name, users_[socket.uid].id, std::string(event.name)};
    if (store_) store_->submit_leave(token, name, users_[socket.uid].id);
    else complete(done(token));
}

void Hub::on_room_members(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    std::string name = string_field(payload, "room");
    Room* r = find_room(name);
    if (!r || !is_member(users_[socket.uid], *r)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::not_member, "room: you are not a member");
    std::vector<wire::MemberState> listed;
    for (const auto& [id, seq] : r->members) {
        if (listed.size() == kMaxMembersListed) break;
        const User& m = users_[user_index_.at(id)];
        listed.push_back({id, m.online, m.online ? kStatuses[m.status] : "offline"});
    }
    reply_ok(socket_id, event.ack_id, wire::members_fields(name, listed));
}

// Applies a committed membership change (or reports the failure) and answers the requester.
void Hub::complete(store::Completion&& completion) {
    auto it = pending_.find(completion.token);
    if (it == pending_.end()) return;
    Pending request = std::move(it->second);
    pending_.erase(it);
    if (request.kind == Pending::message) return complete_message(request, completion);
    if (request.kind == Pending::join || request.kind == Pending::dm_join) join_end(request.user, request.room);
    if (request.kind == Pending::revoke) { // memory already left the room when the token was checked
        if (completion.status != Status::ok)
            OUTPOST_LOG(warn, "store_refused", "event=room:revoked room=%s user=%s error=\"%s\" detail=\"left in memory; revoked again at the next connect\"",
                        request.room.c_str(), request.user.c_str(), completion.error.c_str());
        return;
    }
    if (completion.status != Status::ok) {
        OUTPOST_LOG(warn, "store_refused", "event=%s room=%s error=\"%s\"", request.event.c_str(), request.room.c_str(), completion.error.c_str());
        if (find_socket(request.socket)) reply_error(request.socket, request.ack_id, request.event, ErrorCode::unavailable, "storage is not writable: " + completion.error);
        if (Room* r = find_room(request.room)) reclaim_if_empty(*r);
        return;
    }
    User& u = user(request.user);
    Room& r = room(request.room);
    std::string payload = wire::room_user(r.name, u.id);
    if (request.kind == Pending::dm_join) {
        add_member(u, r, completion.message.seq); // direct rooms: no room:member_joined (PROTOCOL.md §13)
    } else if (request.kind == Pending::join) {
        bool fresh = !is_member(u, r);
        add_member(u, r, completion.message.seq);
        if (fresh) adapter_->to_room(r.name, frame("room:member_joined", payload), {}, user_room(u.id));
        if (find_socket(request.socket)) reply_ok(request.socket, request.ack_id, joined_fields(r));
    } else if (request.kind == Pending::leave) {
        bool was = is_member(u, r);
        remove_member(u, r);
        if (was) adapter_->to_room(r.name, frame("room:member_left", payload), {}, user_room(u.id));
        if (find_socket(request.socket)) reply_ok(request.socket, request.ack_id, wire::room_fields(r.name));
        reclaim_if_empty(r);
    }
}

} // namespace outpost::hub
