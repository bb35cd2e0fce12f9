// sessions.cpp - Engine.IO sessions: slots, sids, heartbeat, send queues, and inbound packets.
// Owns: a session's life from handshake to release, its queue and its limits (ServerImpl, see
// server_impl.h). Never: touches a socket beyond asking lws for a write opportunity, or reads
// message contents (handed to the SessionHandler).
#include <algorithm>

#include "core/json_writer.h"
#include "core/log.h"
#include "core/random_id.h"
#include "net/server_impl.h"

namespace outpost::net {

void ServerImpl::new_sid(Session& s) {
    for (;;) {
        std::string sid = core::random_id(kSidBytes);
        if (sid.size() != kSidChars || sids_.find(sid) != kNoSession) continue;
        sid.copy(s.sid_chars, kSidChars);
        return;
    }
}

Session* ServerImpl::open_session(int eio, Endpoint ep, bool ws) {
    if (draining_) return nullptr;
    Session* slot = sessions_.acquire();
    if (!slot) return nullptr;
    Session& s = *slot;
    s.eio = uint8_t(eio);
    s.endpoint = ep;
    s.ws = ws;
    s.upgrading = s.b64 = s.closing = s.going_away = s.awaiting_pong = false;
    s.poll_wsi = s.ws_wsi = nullptr;
    s.queued_bytes = 0;
    s.stall_since = 0;
    s.poll_idle_since = ws ? 0 : platform::monotonic_ms();
    s.hb_armed_at = INT64_MAX;
    s.rx.clear();
    s.rx_frames = 0;
    s.rx_in_frame = false;
    new_sid(s);
    sids_.insert(id_of(s).index);
    ++stats_.sessions_open;
    if (stats_.sessions_open > stats_.sessions_peak) stats_.sessions_peak = stats_.sessions_open;
    ++stats_.handshakes_ok;
    return &s;
}

// Releases the slot. Callers detach the transports first (kill_session answers the poll and
// closes the WebSocket); the handler hears of it last.
void ServerImpl::free_session(Session& s, std::string_view reason) {
    SessionId id = id_of(s);
    if (!sessions_.release(id)) return; // from here on find() fails: handlers may call send/close safely
    SessionHandler* h = handlers_[int(s.endpoint)];
    sids_.erase(id.index);
    stats_.queued_bytes -= s.queued_bytes;
    s.queue.clear();
    s.queued_bytes = 0;
    s.rx.clear();
    s.rx.shrink_to_fit();
    --stats_.sessions_open;
    if (h) h->on_close(id, reason);
}

// Answers the session's pending poll with a final body and detaches it from the session.
void ServerImpl::end_poll(Session& s, const char* v4_body, const char* v3_body) {
    if (!s.poll_wsi) return;
    s.poll_idle_since = platform::monotonic_ms();
    auto* pc = static_cast<Conn*>(lws_wsi_user(s.poll_wsi));
    if (pc && !pc->reply) pc->reply = new std::string(s.eio == 3 ? v3_body : v4_body); // Conn owns it (free_extras)
    if (pc) pc->sess_index = kNoSession;
    wake_poll(s.poll_wsi);
    s.poll_wsi = nullptr;
}

// Ends a session now: a pending poll is answered (noop), WebSockets are closed.
void ServerImpl::kill_session(Session& s, std::string_view reason, bool going_away) {
    end_poll(s, "6", "1:6");
    if (s.ws_wsi) {
        auto* wc = static_cast<Conn*>(lws_wsi_user(s.ws_wsi));
        if (wc) {
            wc->sess_index = kNoSession;
            wc->close_now = true;
            wc->going_away = going_away;
        }
        lws_callback_on_writable(s.ws_wsi);
        s.ws_wsi = nullptr;
    }
    free_session(s, reason);
}

FrameRef ServerImpl::open_packet(const Session& s, bool ws) {
    std::string json;
    core::JsonWriter w(json);
    w.begin_object().member("sid", s.sid()).key("upgrades").begin_array();
    if (!ws) w.string("websocket");
    w.end_array();
    w.member("pingInterval", opt_.ping_interval_ms).member("pingTimeout", opt_.ping_timeout_ms);
    w.member("maxPayload", opt_.max_payload).end_object();
    return FrameRef::text_packet('0', json);
}

// v4: the server pings every ping_interval and waits ping_timeout for the pong.
// v3: the client pings; the server closes after ping_interval + ping_timeout of silence.
void ServerImpl::start_heartbeat(Session& s) {
    int64_t now = platform::monotonic_ms();
    s.hb_armed_at = INT64_MAX;
    if (s.eio == 4) {
        s.ping_due = now + opt_.ping_interval_ms;
        arm_heartbeat(s, s.ping_due);
    } else {
        s.dead_at = now + opt_.ping_interval_ms + opt_.ping_timeout_ms;
        s.awaiting_pong = true; // "awaiting the client's ping"
        arm_heartbeat(s, s.dead_at);
    }
}

// A session has one heartbeat deadline and at most one timer entry for it in the common case:
// a deadline that moves later (each v3 ping, each pong) leaves the pending entry alone, and the
// entry, when it fires early, re-arms itself for the deadline then in force. Only a deadline that
// moves earlier adds an entry, so the timer heap stays bounded by the number of sessions.
void ServerImpl::arm_heartbeat(Session& s, int64_t when) {
    if (when >= s.hb_armed_at) return;
    s.hb_armed_at = when;
    timers_.schedule(when, heartbeat_cb, this, id_of(s).pack());
}

void ServerImpl::heartbeat_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<ServerImpl*>(ctx);
    Session* s = self->find(SessionId::unpack(arg));
    if (!s) return;
    if (now >= s->hb_armed_at) s->hb_armed_at = INT64_MAX; // this is the armed entry (or a later one)
    if (s->closing) return;
    if (s->awaiting_pong) {
        if (now >= s->dead_at) {
            ++self->stats_.closed_ping_timeout;
            self->kill_session(*s, "ping timeout");
            return;
        }
        self->arm_heartbeat(*s, s->dead_at);
        return;
    }
    if (s->eio == 4 && now >= s->ping_due) {
        self->push(*s, FrameRef::text_packet('2', {}));
        s->awaiting_pong = true;
        s->dead_at = now + self->opt_.ping_timeout_ms;
        self->arm_heartbeat(*s, s->dead_at);
        return;
    }
    self->arm_heartbeat(*s, s->ping_due);
}

// A closing session that never came back for its last poll is released.
void ServerImpl::linger_cb(void* ctx, uint64_t arg, int64_t) {
    auto* self = static_cast<ServerImpl*>(ctx);
    if (Session* s = self->find(SessionId::unpack(arg))) self->kill_session(*s, "closed");
}

bool ServerImpl::push(Session& s, const FrameRef& f) {
    if (!f || !s.queue.push(f)) return false;
    s.queued_bytes += f->len;
    stats_.queued_bytes += f->len;
    kick(s);
    return true;
}

// A waiting long-poll GET reads nothing: lws 4.1 does not read an HTTP/1 connection in the middle
// of a transaction, so input (or the client's close) would wake the loop again and again until
// the answer. Its input is switched off while it waits (on_poll_get) and back on here, just
// before the answer (flow control also holds back WRITEABLE on an HTTP/1 connection).
void ServerImpl::wake_poll(struct lws* wsi) {
    lws_rx_flow_control(wsi, 1);
    lws_callback_on_writable(wsi);
}

// Asks lws for a write opportunity on whichever transport can carry the queue now.
void ServerImpl::kick(Session& s) {
    if (s.ws && s.ws_wsi) lws_callback_on_writable(s.ws_wsi);
    else if (!s.ws && s.poll_wsi) wake_poll(s.poll_wsi);
}

// The send-queue limit (limits.max_send_queue_bytes) is judged on evidence that the client does
// not read, not on the size of one burst: the queue may pass it while the kernel keeps taking
// bytes (a group commit fans a whole batch out at once), and is refused once it has stayed over
// it with no progress for ping_timeout_ms (a WebSocket whose socket buffer stays full, a polling
// client that does not come back), or at once past kHardQueueFactor times the limit, which bounds
// the memory of every session. A single frame larger than that still goes when nothing else
// waits (a large history page is slow, not a reason to cut). `bypass_limit` is for the last
// words before a cut. The limits are compared in 64 bits: the setting goes up to 2^32, which a
// 32-bit size_t cannot hold (nor 4 times it).
bool ServerImpl::enqueue(Session& s, const FrameRef& f, bool bypass_limit) {
    if (!f) return false;
    uint64_t soft = opt_.max_send_queue_bytes;
    int64_t now = platform::monotonic_ms();
    if (!bypass_limit && s.queued_bytes > 0) {
        if (uint64_t(s.queued_bytes) + f->len > soft * kHardQueueFactor) return false;
        if (s.stall_since && now - s.stall_since > opt_.ping_timeout_ms) return false;
    }
    if (!push(s, f)) return false;
    if (uint64_t(s.queued_bytes) > soft && !s.stall_since) s.stall_since = now;
    return true;
}

// Called after a write: progress resets the stall clock; a queue still over the limit starts it anew.
void ServerImpl::wrote(Session& s, bool kernel_took_all) {
    if (uint64_t(s.queued_bytes) <= opt_.max_send_queue_bytes) s.stall_since = 0;
    else if (kernel_took_all || !s.stall_since) s.stall_since = platform::monotonic_ms();
}

// A polling session whose client has not come back for kPollAbandonMs since its last GET ended.
bool ServerImpl::poll_gone(const Session& s, int64_t now) const {
    return !s.ws && !s.poll_wsi && !s.ws_wsi && s.poll_idle_since && now - s.poll_idle_since >= kPollAbandonMs;
}

bool ServerImpl::send(SessionId id, const FrameRef& frame, bool bypass_limit) {
    Session* s = find(id);
    if (!s || !frame || s->closing) return false;
    return enqueue(*s, frame, bypass_limit);
}

void ServerImpl::close(SessionId id, std::string_view reason, bool going_away) {
    Session* s = find(id);
    if (!s || s->closing) return;
    s->closing = true;
    s->going_away = going_away;
    if (!s->ws) {
        // Polling: what is queued goes out first; the close packet then comes alone in the next
        // poll (a client handles a close at once, and would drop events that came with it).
        kick(*s);
        timers_.schedule(platform::monotonic_ms() + opt_.ping_timeout_ms, linger_cb, this, id.pack());
    } else if (s->ws_wsi) {
        lws_callback_on_writable(s->ws_wsi); // drains the queue, then closes
        // A reader that never drains (a slow consumer) is closed anyway after the ping timeout.
        timers_.schedule(platform::monotonic_ms() + opt_.ping_timeout_ms, linger_cb, this, id.pack());
    } else {
        kill_session(*s, reason, going_away);
    }
    OUTPOST_LOG(debug, "session_closing", "sid=%.*s reason=\"%.*s\"", int(kSidChars), s->sid_chars, int(reason.size()), reason.data());
}

// ---------------------------------------------------------------- inbound packets

void ServerImpl::handle_packet(Session& s, const EioPacket& p) {
    switch (p.type) {
    case EioType::message:
        ++stats_.frames_in;
        if (SessionHandler* h = handlers_[int(s.endpoint)]) h->on_message(id_of(s), p);
        return;
    case EioType::ping:
        if (s.eio == 3) {
            // The pong counts against the send-queue limit like any frame: a client that pings
            // without reading the answers is a slow consumer.
            s.dead_at = platform::monotonic_ms() + opt_.ping_interval_ms + opt_.ping_timeout_ms;
            arm_heartbeat(s, s.dead_at);
            if (!enqueue(s, FrameRef::text_packet('3', p.data), false)) {
                ++stats_.closed_slow_consumer;
                OUTPOST_LOG(info, "slow_consumer", "sid=%.*s queued=%zu limit=%llu cause=\"pongs not read\"", int(kSidChars), s.sid_chars,
                            s.queued_bytes, (unsigned long long)opt_.max_send_queue_bytes);
                kill_session(s, "slow consumer (pongs not read)");
            }
            return;
        }
        ++stats_.closed_protocol_error;
        kill_session(s, "ping from a v4 client");
        return;
    case EioType::pong:
        if (s.eio == 4 && s.awaiting_pong) {
            s.awaiting_pong = false;
            s.ping_due = platform::monotonic_ms() + opt_.ping_interval_ms;
            arm_heartbeat(s, s.ping_due);
        }
        return;
    case EioType::close:
        kill_session(s, "client closed");
        return;
    case EioType::noop:
        return;
    case EioType::open:
    case EioType::upgrade:
        ++stats_.closed_protocol_error;
        kill_session(s, "unexpected packet");
        return;
    }
}

} // namespace outpost::net
