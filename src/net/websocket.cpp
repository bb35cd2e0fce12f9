// websocket.cpp - Engine.IO over WebSocket: upgrade, probe, receive, send, close and linger.
// Owns: every WebSocket wsi's part of a session and the frames written to it (headers from
// proto/ws_frame). Never: answers plain HTTP (http.cpp) or holds a message past max_payload.
#include <cstring>

#include "core/log.h"
#include "net/server_impl.h"
#include "proto/ws_frame.h"

namespace outpost::net {

// WebSocket states that lws reaches without a callback to us, checked on every session's
// WebSocket a few times a second (one timer for all; a check is two field reads):
// - lws found a protocol violation (bad opcode, reserved bits, bad continuation...) and sent its
//   Close frame: it would wait 5 s for the answer while our heartbeat kept writing. Nothing more
//   is written; the session ends; TCP is closed within kWsCloseAckMs (RFC 6455 §7.1.1).
// - a frame header declared more than max_payload: refused with 1009 now, not when its bytes
//   (or the first kRxBufferSize of them) have arrived.
void ServerImpl::ws_sweep_cb(void* ctx, uint64_t, int64_t now) {
    auto* self = static_cast<ServerImpl*>(ctx);
    if (!self->ctx_) return;
    self->sessions_.for_each([self](Session& s) {
        if (!s.ws_wsi) return;
        struct lws* wsi = s.ws_wsi;
        auto* c = static_cast<Conn*>(lws_wsi_user(wsi));
        if (!c || c->close_now || c->too_large || c->sent_close || c->peer_closed) return;
        if (lws_get_close_length(wsi) > 0) self->ws_protocol_closed(s, wsi, c);
        else if (size_t(lws_remaining_packet_payload(wsi)) + s.rx.size() > self->opt_.max_payload) self->ws_too_large(wsi, c, s);
    });
    self->timers_.schedule(now + kWsSweepMs, ws_sweep_cb, self, 0);
}

// lws has sent a Close frame of its own: the connection carries nothing more; it is closed when
// the client answers (lws does that) or kWsCloseAckMs later.
void ServerImpl::ws_protocol_closed(Session& s, struct lws* wsi, Conn* c) {
    ++stats_.closed_protocol_error;
    c->sent_close = true;
    c->sess_index = kNoSession;
    s.ws_wsi = nullptr;
    if (s.ws) kill_session(s, "websocket protocol error");
    else s.upgrading = false;
    await_close_ack(wsi, c);
}

void ServerImpl::await_close_ack(struct lws* wsi, Conn* c) {
    c->sent_close = true;
    if (c->linger_token) lingering_.erase(c->linger_token);
    c->linger_token = next_linger_token_++;
    c->linger_end_ms = platform::monotonic_ms() + kWsCloseAckMs;
    lingering_[c->linger_token] = wsi;
    timers_.schedule(c->linger_end_ms, ws_linger_cb, this, c->linger_token);
}

// A message over max_payload (declared or received): closed with 1009 (on_ws_writeable); the
// session ends, or only its upgrade when this was a probe.
void ServerImpl::ws_too_large(struct lws* wsi, Conn* c, Session& s) {
    ++stats_.closed_protocol_error;
    c->too_large = true;
    c->sess_index = kNoSession;
    lws_callback_on_writable(wsi);
    if (s.ws_wsi != wsi) return;
    s.ws_wsi = nullptr;
    if (s.ws) kill_session(s, "message over max_payload");
    else s.upgrading = false;
}

// Refuses an upgrade request with an HTTP answer written before lws drops the connection
// (clients then see the status and body, as with Node's engine.io).
int ServerImpl::refuse_upgrade(struct lws* wsi, HttpError e) {
    int status = http_error(e).status;
    std::string body = http_error_body(e);
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    if (!lws_add_http_common_headers(wsi, unsigned(status), "application/json", body.size(), &p, end) &&
        !lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("connection:"),
                                     reinterpret_cast<const unsigned char*>("close"), 5, &p, end) &&
        !lws_finalize_http_header(wsi, &p, end) && size_t(end - p) >= body.size()) {
        std::memcpy(p, body.data(), body.size());
        p += body.size();
        lws_write(wsi, start, size_t(p - start), LWS_WRITE_HTTP_HEADERS);
    }
    return 1;
}

int ServerImpl::on_filter_ws(struct lws* wsi, Conn* c) {
    timers_.run_due(platform::monotonic_ms());
    char path[256] = {0};
    lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
    Endpoint ep;
    if (!endpoint_of(path, opt_.engineio_endpoint, ep)) return refuse_upgrade(wsi, HttpError::not_found);
    Query q;
    read_query(wsi, q);
    int eio = 4;
    HttpError err{};
    auto eio_error = [&](HttpError e) {
        ++stats_.handshakes_refused;
        return refuse_upgrade(wsi, e);
    };
    if (!parse_eio(q, eio, err)) return eio_error(err);
    if (q.transport != "websocket") return eio_error(HttpError::bad_request);
    if (q.has_sid) {
        uint32_t index = sids_.find(q.sid);
        if (index == kNoSession) return eio_error(HttpError::unknown_sid);
        Session& s = sessions_.at(index);
        if (s.closing || s.endpoint != ep || s.eio != eio) return eio_error(HttpError::bad_request);
        if (s.ws || s.ws_wsi) {
            // The session already has its WebSocket (upgraded or probing). Like the reference
            // server, the handshake is accepted and the new connection closed at once; the
            // session is untouched.
            c->pending_ws = new PendingWs{eio, ep, {}, {}, {}, {}, {}, true}; // Conn owns it (take, or free_extras)
            return 0;
        }
    } else if (std::string origin = header(wsi, WSI_TOKEN_ORIGIN); !origin.empty() && !origin_allowed(origin)) {
        ++stats_.handshakes_refused;
        return refuse_upgrade(wsi, HttpError::origin_not_allowed);
    } else if (sessions_.full() || draining_) {
        ++stats_.handshakes_full;
        return refuse_upgrade(wsi, draining_ ? HttpError::shutting_down : HttpError::server_full);
    } else if (!connect_allowed(peer(wsi))) {
        return refuse_upgrade(wsi, HttpError::rate_limited);
    }
    c->pending_ws = new PendingWs{eio, ep, q.sid, header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), q.token, peer(wsi), q.device_id};
    return 0;
}

int ServerImpl::on_ws_established(struct lws* wsi, Conn* c) {
    std::unique_ptr<PendingWs> pw = take(c->pending_ws);
    c->kind = ConnKind::ws;
    c->sess_index = kNoSession;
    if (!pw) return -1;
    if (pw->close_at_once) {
        c->close_now = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!pw->sid.empty()) {
        // An upgrade probe for an existing polling session.
        uint32_t index = sids_.find(pw->sid);
        if (index == kNoSession) return -1;
        Session& s = sessions_.at(index);
        if (s.ws || s.ws_wsi || s.closing) return -1;
        s.ws_wsi = wsi;
        bind(c, id_of(s));
        return 0;
    }
    Session* s = open_session(pw->eio, pw->endpoint, true);
    if (!s) return -1;
    s->ws_wsi = wsi;
    bind(c, id_of(*s));
    push(*s, open_packet(*s, true));
    start_heartbeat(*s);
    if (SessionHandler* h = handlers_[int(pw->endpoint)]) {
        OpenInfo info{pw->eio, pw->endpoint, pw->remote, pw->authorization, pw->token, pw->device_id};
        h->on_open(id_of(*s), info);
    }
    return 0;
}

int ServerImpl::on_ws_receive(struct lws* wsi, Conn* c, const void* in, size_t len) {
    Session* s = find(c);
    c->last_rx_ms = platform::monotonic_ms();
    // A connection whose session has ended (it is closing): what the client still sends is
    // dropped. Failing here would close with unread input, and the kernel's reset would make
    // the client discard our last frames (server:error, DISCONNECT) before reading them.
    if (!s) return 0;
    if (lws_is_first_fragment(wsi)) {
        s->rx.clear();
        s->rx_frames = 0;
        s->rx_in_frame = false;
        s->rx_binary = lws_frame_is_binary(wsi);
    }
    // lws hands a frame over in pieces of its receive buffer; a piece that does not continue an
    // unfinished frame starts a new one. The cap counts frames (fragments), not pieces.
    if (!s->rx_in_frame) ++s->rx_frames;
    s->rx_in_frame = lws_remaining_packet_payload(wsi) != 0;
    if (s->rx_frames > kMaxFrames || s->rx.size() + len > opt_.max_payload ||
        size_t(lws_remaining_packet_payload(wsi)) > opt_.max_payload - s->rx.size() - len) {
        ws_too_large(wsi, c, *s);
        return 0;
    }
    bool complete = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    // The usual case, a message in one piece: decoded straight from lws' receive buffer (no copy,
    // no allocation). Pieces are gathered in the session until the last one.
    if (complete && s->rx.empty()) return on_ws_message(wsi, c, *s, {static_cast<const char*>(in), len});
    s->rx.append(static_cast<const char*>(in), len);
    if (!complete) return 0;
    std::string whole = std::move(s->rx); // the session may be closed while it is handled
    s->rx = std::string();
    return on_ws_message(wsi, c, *s, whole);
}

int ServerImpl::on_ws_message(struct lws* wsi, Conn* c, Session& s, std::string_view msg) {
    Result<EioPacket> r = s.rx_binary ? (s.eio == 3 ? proto::decode_v3_binary_frame(msg)
                                                    : Result<EioPacket>(EioPacket{EioType::message, true, msg}))
                                      : proto::engine_io::decode_packet(msg);
    bool probing = !s.ws;
    if (!r.ok()) {
        ++stats_.closed_protocol_error;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, nullptr, 0);
        c->sess_index = kNoSession;
        s.ws_wsi = nullptr;
        if (!probing) kill_session(s, "undecodable packet");
        else s.upgrading = false;
        return -1;
    }
    const EioPacket& p = *r;
    if (probing) return on_ws_probe(wsi, c, s, p);
    handle_packet(s, p);
    return 0;
}

// A packet on a WebSocket that is probing a polling session: "2probe", then "5" (the upgrade).
int ServerImpl::on_ws_probe(struct lws* wsi, Conn* c, Session& s, const EioPacket& p) {
    if (p.type == EioType::ping && p.data == "probe" && !s.upgrading) {
        // "3probe" goes out now, before any answer to the session's polls that this loop
        // turn may write: a client that sees the poll's answer has seen the probe's (the
        // official suite relies on that order). Nothing else has been written on a probing
        // WebSocket, and lws queues what the socket does not take at once.
        unsigned char buf[LWS_PRE + 8];
        std::memcpy(buf + LWS_PRE, "3probe", 6);
        if (lws_write(wsi, buf + LWS_PRE, 6, LWS_WRITE_TEXT) < 6) return -1;
        s.upgrading = true;
        // The polling side is ended with a noop. v4: answered to the pending (or next) poll
        // only. v3 (engine.io 3.x): queued, so without a poll it reaches the WebSocket after "5".
        if (s.eio == 3 && !s.poll_wsi) push(s, FrameRef::text_packet('6', {}));
        if (s.poll_wsi) wake_poll(s.poll_wsi);
        return 0;
    }
    if (p.type == EioType::upgrade && s.upgrading) {
        s.ws = true;
        s.upgrading = false;
        end_poll(s, "6", "1:6");
        if (!s.queue.empty()) lws_callback_on_writable(wsi);
        return 0;
    }
    c->sess_index = kNoSession;
    s.ws_wsi = nullptr;
    s.upgrading = false;
    return -1;
}

int ServerImpl::on_ws_writeable(struct lws* wsi, Conn* c) {
    if (c->sent_close) return 0; // after a Close frame, no data frame (RFC 6455 §5.5.1)
    if (c->too_large) {
        // 1009 while the client may still be sending the frame: our Close goes out now, its
        // bytes are read and dropped until it answers or kWsCloseAckMs pass (closing with
        // unread input would reset the connection and the client would not see the code).
        // Framed by us (proto/ws_frame): lws frames a Close only on its way to closing the
        // socket at once.
        unsigned char buf[LWS_PRE + proto::kWsCloseFrame];
        size_t n = proto::encode_ws_close(LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, buf + LWS_PRE);
        if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < 0) return -1;
        await_close_ack(wsi, c);
        return 0;
    }
    if (c->close_now) {
        lws_close_reason(wsi, c->going_away ? LWS_CLOSE_STATUS_GOINGAWAY : LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
        return -1;
    }
    Session* s = find(c);
    if (!s) return -1;
    if (c->peer_closed) return 0; // lws is answering the client's Close
    if (lws_get_close_length(wsi) > 0) { // lws has sent a Close of its own (a protocol violation)
        if (s->ws_wsi == wsi) ws_protocol_closed(*s, wsi, c);
        return 0;
    }
    if (!s->ws || s->ws_wsi != wsi) return 0;
    if (s->queue.empty()) {
        if (s->closing) {
            bool away = s->going_away;
            s->ws_wsi = nullptr;
            c->sess_index = kNoSession;
            free_session(*s, "closed");
            linger_ws(wsi, c, away);
        }
        return 0;
    }
    if (s->queue.size() > 1 && s->eio == 4) return write_coalesced(wsi, *s);
    return write_one(wsi, *s);
}

// The frame at the head of the queue, framed by lws.
int ServerImpl::write_one(struct lws* wsi, Session& s) {
    FrameRef f = s.queue.front();
    s.queue.pop();
    s.queued_bytes -= f->len;
    stats_.queued_bytes -= f->len;
    ++stats_.frames_out;
    stats_.bytes_out += f->len;
    int n;
    if (f->binary && s.eio == 3) {
        // v3 WebSocket binary frames carry the packet type as their first byte.
        std::vector<unsigned char> buf(LWS_PRE + 1 + f->len);
        buf[LWS_PRE] = 4;
        std::memcpy(buf.data() + LWS_PRE + 1, f->data(), f->len);
        n = lws_write(wsi, buf.data() + LWS_PRE, f->len + 1, LWS_WRITE_BINARY);
    } else {
        n = lws_write(wsi, f->data(), f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    }
    if (n < 0) return -1;
    wrote(s, !lws_partial_buffered(wsi));
    if (!s.queue.empty() || s.closing) lws_callback_on_writable(wsi);
    return 0;
}

// Everything is written. Closing the socket while the client is still sending would make the
// kernel reset the connection, and the client would drop our last frames unread. So wait until
// the client closes (it does on DISCONNECT) or has been quiet for a moment, reading and
// discarding its input, at most a second; then close with our close frame.
constexpr int64_t kWsQuietMs = 100, kWsLingerMaxMs = 1000, kWsLingerStepMs = 50;

void ServerImpl::linger_ws(struct lws* wsi, Conn* c, bool going_away) {
    int64_t now = platform::monotonic_ms();
    c->going_away = going_away;
    c->linger_token = next_linger_token_++;
    c->linger_end_ms = now + kWsLingerMaxMs;
    if (!c->last_rx_ms) c->last_rx_ms = now;
    lingering_[c->linger_token] = wsi;
    timers_.schedule(now + kWsLingerStepMs, ws_linger_cb, this, c->linger_token);
}

void ServerImpl::ws_linger_cb(void* ctx, uint64_t token, int64_t now) {
    auto* self = static_cast<ServerImpl*>(ctx);
    auto it = self->lingering_.find(token);
    if (it == self->lingering_.end()) return;
    struct lws* wsi = it->second;
    auto* c = static_cast<Conn*>(lws_wsi_user(wsi));
    if (c && !c->sent_close && now - c->last_rx_ms < kWsQuietMs && now < c->linger_end_ms) {
        self->timers_.schedule(now + kWsLingerStepMs, ws_linger_cb, self, token);
        return;
    }
    self->lingering_.erase(it);
    if (!c) return;
    c->linger_token = 0;
    if (c->sent_close) { // our Close frame is out and unanswered: no second one, just the TCP close
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
        return;
    }
    c->close_now = true;
    lws_callback_on_writable(wsi);
}

// Several frames are waiting: frame them ourselves, back to back, and hand lws one buffer (one
// send() instead of one per frame, like uWebSockets' corking). Server frames are unmasked and we
// negotiate no extensions, so the framing is the plain RFC 6455 header.
int ServerImpl::write_coalesced(struct lws* wsi, Session& s) {
    constexpr size_t kMaxBatch = 64 * 1024;
    coalesce_.resize(LWS_PRE);
    while (!s.queue.empty()) {
        const FrameRef& f = s.queue.front();
        size_t len = f->len;
        if (coalesce_.size() > LWS_PRE && coalesce_.size() - LWS_PRE + len + proto::kWsMaxHeader > kMaxBatch) break;
        unsigned char hdr[proto::kWsMaxHeader];
        size_t h = proto::encode_ws_header(f->binary ? proto::WsOpcode::binary : proto::WsOpcode::text, len, hdr);
        coalesce_.insert(coalesce_.end(), hdr, hdr + h);
        coalesce_.insert(coalesce_.end(), f->data(), f->data() + len);
        s.queued_bytes -= len;
        stats_.queued_bytes -= len;
        ++stats_.frames_out;
        stats_.bytes_out += len;
        s.queue.pop();
    }
    size_t total = coalesce_.size() - LWS_PRE;
    if (lws_write(wsi, coalesce_.data() + LWS_PRE, total, LWS_WRITE_RAW) < 0) return -1;
    wrote(s, !lws_partial_buffered(wsi));
    if (!s.queue.empty() || s.closing) lws_callback_on_writable(wsi);
    return 0;
}

} // namespace outpost::net
