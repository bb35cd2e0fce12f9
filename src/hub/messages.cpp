// messages.cpp - message:send (rooms and direct rooms), the admin publish, fan-out and history:get (see hub.h).
#include "hub/hub.h"

#include <string>
#include <vector>

#include "core/log.h"
#include "hub/internal.h"
#include "proto/json.h"

namespace outpost::hub {

namespace {

// message:send's body as the client wrote it, compacted (PROTOCOL.md §6: stored and delivered
// byte for byte, never re-printed through doubles): the first "body" member of the payload.
bool body_text(std::string_view raw, std::string& body, std::string& why) {
    std::vector<proto::json::Span> items;
    std::vector<proto::json::Member> members;
    if (!proto::json::elements(raw, items) || items.size() < 2 || !proto::json::members(items[1].text, members)) {
        why = "body: the payload could not be read";
        return false;
    }
    for (const proto::json::Member& m : members) {
        if (m.key != "body") continue;
        if (proto::json::compact(m.value.text, body, why)) return true;
        why = "body: not valid JSON (" + why + ")";
        return false;
    }
    why = "body: required";
    return false;
}

} // namespace

void Hub::ensure_dm_member(User& u, Room& r) {
    if (is_member(u, r) || joining(u, r)) return;
    join_begin(u, r);
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::dm_join, {}, -1, r.name, u.id, "message:send"};
    if (store_) store_->submit_join(token, r.name, u.id);
    else complete(done(token));
}

void Hub::on_message_send(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    const char* room_name = string_field(payload, "room");
    const char* to = string_field(payload, "to");
    if ((room_name != nullptr) == (to != nullptr))
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::invalid_payload, "room: give either room or to");
    std::string text, why;
    if (!body_text(event.raw, text, why)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::invalid_payload, why);
    size_t body_len = text.size();
    if (int64_t(body_len) > settings_.limits.max_body)
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::payload_too_large,
                           "body: " + std::to_string(body_len) + " bytes, over limits.max_body (" +
                               std::to_string(settings_.limits.max_body) + ")");
    User& u = users_[socket.uid];
    std::string name;
    if (to) {
        if (std::string_view(to) == "system") return reply_error(socket_id, event.ack_id, event.name, ErrorCode::forbidden, "to: reserved user id");
        // Only users this server knows (connected since it started, or a member of some room)
        // can be written to: a made-up id must not create a user, a room and rows that stay.
        auto peer_at = user_index_.find(to);
        if (peer_at == user_index_.end())
            return reply_error(socket_id, event.ack_id, event.name, ErrorCode::forbidden, "to: no user with this id is known to this server");
        User& peer = users_[peer_at->second];
        name = dm_room(u.id, to);
        Room* existing = find_room(name);
        int64_t limit = settings_.limits.max_dm_rooms_per_user;
        for (User* who : {&u, &peer}) {
            bool new_room = !existing || (!is_member(*who, *existing) && !joining(*who, *existing));
            if (new_room && int64_t(rooms_held(*who, true)) >= limit)
                return reply_error(socket_id, event.ack_id, event.name, ErrorCode::room_full,
                                   who == &u ? "you are in limits.max_dm_rooms_per_user direct rooms already"
                                             : "the recipient is in limits.max_dm_rooms_per_user direct rooms already");
        }
        if (store_ && !store_->health().writable)
            return reply_error(socket_id, event.ack_id, event.name, ErrorCode::unavailable, "storage is not writable: " + store_->health().reason);
        if (!existing && rooms_full())
            return reply_error(socket_id, event.ack_id, event.name, ErrorCode::room_full, "the server holds limits.max_rooms rooms");
        Room& r = existing ? *existing : room(name);
        ensure_dm_member(u, r);
        ensure_dm_member(peer, r);
    } else {
        name = room_name;
        Room* r = find_room(name);
        if (!r || !is_member(u, *r)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::not_member, "room: you are not a member");
    }
    if (!store_) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::unavailable, "no storage is attached");
    if (!store_->health().writable)
        return reply_error(socket_id, event.ack_id, event.name, ErrorCode::unavailable, "storage is not writable: " + store_->health().reason);
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::message, socket_id, event.ack_id, name, u.id, std::string(event.name)};
    store_->submit_message(token, name, u.id, string_field(payload, "clientId"), std::move(text), clock_wall_ms(), socket.device_id);
}

void Hub::publish(std::string_view room_name, std::string_view body_json, std::string_view client_id, PublishDone done) {
    if (!store_) {
        PublishResult result;
        result.status = Status::unavailable;
        result.error = "no storage is attached";
        done(result);
        return;
    }
    if (!find_room(room_name) && rooms_full()) {
        done(PublishResult{Status::unavailable, "the server holds limits.max_rooms rooms", {}, false});
        return;
    }
    room(room_name);
    uint64_t token = next_token_++;
    Pending request{Pending::message, {}, -1, std::string(room_name), "system", "publish"};
    request.published = std::move(done);
    pending_[token] = std::move(request);
    store_->submit_message(token, std::string(room_name), "system", std::string(client_id), std::string(body_json), clock_wall_ms());
}

void Hub::complete_message(const Pending& request, const store::Completion& completion) {
    const store::Message& m = completion.message;
    if (completion.status != Status::ok) {
        OUTPOST_LOG(warn, "store_refused", "event=%s room=%s error=\"%s\"", request.event.c_str(), request.room.c_str(), completion.error.c_str());
        std::string why = "storage is not writable: " + completion.error;
        if (request.published) request.published(PublishResult{Status::unavailable, why, {}, false});
        else if (find_socket(request.socket)) reply_error(request.socket, request.ack_id, request.event, ErrorCode::unavailable, why);
        if (Room* r = find_room(request.room)) reclaim_if_empty(*r); // a publish to a room nobody is in
        return;
    }
    if (request.published) request.published(PublishResult{Status::ok, {}, m, completion.duplicate});
    else if (request.ack_id >= 0 && find_socket(request.socket)) // a send without an ack gets no answer
        reply_ok(request.socket, request.ack_id, wire::stored_fields(m, completion.duplicate));
    Room& r = room(m.room);
    if (!completion.duplicate) {
        ++stats_.messages_in;
        fan_out(r, m, request.socket);
    }
    reclaim_if_empty(r); // a publish to a room nobody is in
}

// Every member socket except the sending one gets the same encoded message:new, in seq order.
void Hub::fan_out(Room& r, const store::Message& m, sio::SocketId except) {
    if (m.seq > r.live_seq) r.live_seq = m.seq;
    // One encoded frame for every recipient, with one small ack id (PROTOCOL.md §13) that each
    // recipient's ack table maps back to (room, seq).
    sio::AckTag ack{layer_->new_ack_id(), room_key(r), m.seq};
    pool::FrameRef f = layer_->encode_event(0, wire::message_new(m), ack.id);
    stats_.messages_out += adapter_->room_size(r.name);
    adapter_->to_room(r.name, f, except, {}, &ack);
}

void Hub::on_history_get(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) {
    Room* r = member_room(socket_id, socket, event, payload);
    if (!r) return;
    if (!store_) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::unavailable, "no storage is attached");
    bool has_more = false;
    Result<std::vector<store::Message>> rows =
        store_->history(r->name, int_field(payload, "before", -1), int_field(payload, "after", -1), int(int_field(payload, "limit", 50)), has_more);
    if (!rows.ok()) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::unavailable, rows.error().message);
    reply_ok(socket_id, event.ack_id, wire::history_fields(r->name, *rows, has_more));
}

} // namespace outpost::hub
