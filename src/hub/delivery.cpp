// delivery.cpp - Receipts, per-device cursors, acknowledgements of message:new and the connect-time sync (see hub.h).
#include "hub/hub.h"

#include <algorithm>

#include "hub/internal.h"

namespace outpost::hub {

Hub::Receipts& Hub::receipts(User& u) {
    if (u.receipts) return *u.receipts;
    u.receipts = std::make_unique<Receipts>();
    if (store_) {
        Result<std::vector<store::Cursor>> rows = store_->load_cursors(u.id);
        if (rows.ok()) {
            for (const store::Cursor& c : *rows) {
                Room& r = room(c.room);
                device_cursors(u, c.device)[r.rid] = c.delivered;
                auto& rc = u.receipts->highest[r.rid];
                rc.first = std::max(rc.first, c.delivered);
                rc.second = std::max(rc.second, c.read);
            }
        }
    }
    return *u.receipts;
}

std::unordered_map<uint32_t, int64_t>& Hub::device_cursors(User& u, std::string_view device) {
    auto& cursors = receipts(u).cursors;
    for (auto& [d, map] : cursors)
        if (d == device) return map;
    cursors.emplace_back(std::string(device), std::unordered_map<uint32_t, int64_t>{});
    return cursors.back().second;
}

// A device's cursor starts at the room's seq when the user became a member (PROTOCOL.md §13).
int64_t Hub::cursor_of(User& u, std::string_view device, const Room& r) {
    auto& map = device_cursors(u, device);
    auto it = map.find(r.rid);
    if (it != map.end()) return it->second;
    auto m = r.members.find(u.id);
    return m == r.members.end() ? 0 : m->second;
}

void Hub::confirm(sio::SocketId, Socket& socket, Room& r, int64_t seq, bool read) {
    User& u = users_[socket.uid];
    seq = std::min(seq, r.live_seq);
    if (seq <= 0) return;
    auto& rc = receipts(u).highest[r.rid];
    if (!read) {
        auto& map = device_cursors(u, socket.device_id);
        int64_t& cur = map.try_emplace(r.rid, cursor_of(u, socket.device_id, r)).first->second;
        if (seq <= cur) return;
        cur = seq;
        if (store_) store_->submit_cursor(0, u.id, socket.device_id, r.name, seq, -1);
        if (seq <= rc.first) return;
        rc.first = seq;
    } else {
        if (seq <= rc.second) return;
        rc.second = seq;
        if (store_) store_->submit_cursor(0, u.id, socket.device_id, r.name, -1, seq);
    }
    adapter_->to_room(r.name, frame("message:status", wire::message_status(r.name, u.id, seq, read, clock_wall_ms())), {}, user_room(u.id));
}

// The recipient acknowledged a message:new: tag.key is the room key (room_key), tag.value the seq.
// Confirming N confirms everything up to N, but a socket can acknowledge N after losing a lower
// message on the way (a poll that its client dropped while the answer was in flight): the device's
// cursor never moves past a message sent to this socket and not acknowledged by it (AckTable::lowest,
// which also counts the entries dropped from a full table). The acknowledgement is held back in
// Sock::acked_ahead until the lower ones are answered, and the skipped messages are sent again now,
// with fresh ack ids (resend_skipped), so the device gets them in the same session.
void Hub::on_app_ack(sio::SocketId socket_id, const sio::AckTag& tag, const cJSON*, const sio::AckTag* earlier, uint32_t n_earlier) {
    Socket* socket = find_socket(socket_id);
    Room* found = socket ? room_by_key(tag.key) : nullptr;
    if (!found) return;
    Room& r = *found;
    if (!is_member(users_[socket->uid], r)) return;
    sio::AckTable* acks = layer_->app_acks(socket_id);
    if (acks) resend_skipped(socket_id, *socket, r, tag.value, earlier, n_earlier, *acks);
    int64_t ahead = tag.value;
    auto held = std::find_if(socket->acked_ahead.begin(), socket->acked_ahead.end(), [&](const sio::AckTag& a) { return a.key == room_key(r); });
    if (held != socket->acked_ahead.end()) ahead = std::max(ahead, held->value);
    int64_t low = acks ? acks->lowest(room_key(r)) : INT64_MAX;
    if (low <= ahead) {
        if (held != socket->acked_ahead.end()) held->value = ahead;
        else socket->acked_ahead.push_back(sio::AckTag{0, room_key(r), ahead});
        ahead = low - 1;
    } else if (held != socket->acked_ahead.end()) {
        *held = socket->acked_ahead.back();
        socket->acked_ahead.pop_back();
    }
    confirm(socket_id, *socket, r, ahead, false);
}

// Sends again, once per detection, the messages of `r` that this socket skipped when it
// acknowledged `acked`: the unanswered ones sent before it (`earlier`) and those dropped from its
// full ack table below it, at most kMaxResend (the rest stay counted as dropped, for the next
// acknowledgement). They are read from the store in runs of consecutive seqs (one query per run).
// What cannot be queued stays counted as dropped, so the cursor stays below it and the next
// connect replays it.
void Hub::resend_skipped(sio::SocketId socket_id, Socket& socket, Room& r, int64_t acked, const sio::AckTag* earlier, uint32_t n_earlier,
                         sio::AckTable& acks) {
    std::vector<int64_t> seqs;
    for (uint32_t i = 0; i < n_earlier; ++i) seqs.push_back(earlier[i].value);
    int64_t dropped = 0;
    if (acks.dropped_low(room_key(r), dropped) && dropped < acked) {
        acks.forget_dropped(room_key(r));
        int64_t q = dropped;
        for (; q < acked && seqs.size() < kMaxResend + n_earlier; ++q) seqs.push_back(q);
        if (q < acked) acks.mark_dropped(room_key(r), q);
    }
    if (seqs.empty()) return;
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    if (!store_) {
        acks.mark_dropped(room_key(r), seqs.front());
        return;
    }
    ++stats_.ack_gaps;
    for (size_t i = 0; i < seqs.size();) {
        size_t j = i + 1;
        while (j < seqs.size() && seqs[j] == seqs[j - 1] + 1) ++j;
        int64_t lo = seqs[i], hi = seqs[j - 1];
        i = j;
        Result<std::vector<store::Message>> rows = store_->replay(r.name, lo - 1, int(hi - lo + 1));
        if (!rows.ok()) {
            acks.mark_dropped(room_key(r), lo);
            continue;
        }
        for (const store::Message& m : *rows) {
            if (m.seq > hi) break;
            if (m.sender == users_[socket.uid].id && m.sender_device == socket.device_id) continue;
            sio::AckTag ack{layer_->new_ack_id(), room_key(r), m.seq};
            if (layer_->send_frame(socket_id, layer_->encode_event(0, wire::message_new(m), ack.id), false, &ack))
                ++stats_.messages_resent;
            else
                acks.mark_dropped(room_key(r), m.seq);
        }
    }
}

// message:delivered and message:read: cumulative confirmations up to `seq`.
void Hub::on_receipt(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload, bool read) {
    Room* r = member_room(socket_id, socket, event, payload);
    if (!r) return;
    int64_t seq = int_field(payload, "seq", 0);
    confirm(socket_id, socket, *r, seq, read);
    reply_ok(socket_id, event.ack_id, wire::room_seq_fields(r->name, seq));
}

void Hub::on_message_delivered(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) { on_receipt(socket_id, socket, event, payload, false); }

void Hub::on_message_read(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload) { on_receipt(socket_id, socket, event, payload, true); }

// PROTOCOL.md §7 and §13 (Connect order): per room in bytewise order an optional sync:gap and the
// replay after the device's cursor, then sync:complete. Runs before any live traffic can be
// queued for this socket, so live messages never overtake the replay.
void Hub::sync(sio::SocketId socket_id, Socket& socket, User& u) {
    if (!store_) return;
    std::vector<Room*> rs;
    for (uint32_t rid : u.rooms) rs.push_back(&rooms_[rid]);
    std::sort(rs.begin(), rs.end(), [](const Room* a, const Room* b) { return a->name < b->name; });
    std::vector<std::pair<std::string_view, int64_t>> latest;
    for (Room* r : rs) {
        latest.emplace_back(r->name, r->live_seq);
        int64_t cursor = cursor_of(u, socket.device_id, *r), newest = r->live_seq;
        if (newest <= cursor) continue;
        int64_t from = cursor, gap_to = 0, replay_max = settings_.limits.replay_max;
        if (newest - cursor > replay_max) gap_to = newest - replay_max;
        int64_t oldest = store_->oldest_seq(r->name);
        if (oldest > 0 && oldest - 1 > std::max(cursor, gap_to)) gap_to = oldest - 1; // pruned by retention
        if (gap_to > cursor) {
            layer_->emit(socket_id, wire::sync_gap(r->name, cursor + 1, gap_to));
            from = gap_to;
        }
        // Acknowledged seqs the store found missing at start-up (storage_rollback) are a gap too.
        for (const auto& [lost_from, lost_to] : store_->lost_ranges(r->name)) {
            int64_t lo = std::max(lost_from, from + 1), hi = std::min(lost_to, newest);
            if (lo <= hi)
                layer_->emit(socket_id, wire::sync_gap(r->name, lo, hi));
        }
        Result<std::vector<store::Message>> rows = store_->replay(r->name, from, int(replay_max));
        if (!rows.ok()) continue;
        for (const store::Message& m : *rows) {
            if (m.seq > newest) break;
            if (m.sender == u.id && m.sender_device == socket.device_id) continue; // it has its own messages
            // Replay is one burst at connect: it may pass the send-queue limit up to twice it
            // (the transport's hard bound, 4 times, leaves room for live traffic meanwhile);
            // past that the rest of the room is a gap to page. In 64 bits: the limit may be
            // 2^32, which a 32-bit size_t would wrap to a budget of 0 (every replay a gap).
            uint64_t budget = uint64_t(settings_.limits.max_send_queue_bytes) * 2;
            sio::AckTag ack{layer_->new_ack_id(), room_key(*r), m.seq};
            if (uint64_t(layer_->transport().queued_bytes(socket_id.session)) < budget &&
                layer_->send_frame(socket_id, layer_->encode_event(0, wire::message_new(m), ack.id), true, &ack))
                continue;
            layer_->emit(socket_id, wire::sync_gap(r->name, m.seq, newest), nullptr, nullptr, 0, 0, true);
            break;
        }
    }
    layer_->emit(socket_id, wire::sync_complete(latest));
}

} // namespace outpost::hub
