// polling.cpp - Engine.IO over HTTP: the handshake, long-polling GETs and POSTs, deferred answers.
// Owns: what a polling request does to its session, and the payloads answered to it. Never:
// writes an answer but through respond() (http.cpp), or decodes a payload itself (proto/).
#include <cstring>
#include <functional>

#include "core/log.h"
#include "net/server_impl.h"

namespace outpost::net {
namespace {

// A PacketSink that feeds decoded polling packets into handle_packet, stopping if the session dies.
class PollSink final : public proto::PacketSink {
public:
    PollSink(std::function<void(const EioPacket&)> fn) : fn_(std::move(fn)) {}
    Status on_packet(const EioPacket& p) override {
        fn_(p);
        return Status::ok;
    }

private:
    std::function<void(const EioPacket&)> fn_;
};

} // namespace

bool ServerImpl::parse_eio(const Query& q, int& eio, HttpError& err) const {
    if (!q.has_transport || (q.transport != "polling" && q.transport != "websocket")) {
        err = HttpError::unknown_transport;
        return false;
    }
    if (q.eio == "4") eio = 4;
    else if (q.eio == "3" && opt_.allow_eio3) eio = 3;
    else {
        err = HttpError::unsupported_version;
        return false;
    }
    return true;
}

int ServerImpl::respond_eio_error(struct lws* wsi, HttpError e) {
    ++stats_.handshakes_refused;
    return respond_error(wsi, e);
}

// A request to /socket.io/ (or /engine.io/) without an upgrade: a handshake, a poll or a POST.
int ServerImpl::on_eio_http(struct lws* wsi, Conn* c, const char* method, Endpoint ep, int64_t length) {
    if (!std::strcmp(method, "OPTIONS")) return respond_preflight(wsi);
    Query q;
    read_query(wsi, q);
    int eio = 4;
    HttpError err{};
    if (!parse_eio(q, eio, err)) return respond_eio_error(wsi, err);
    if (q.transport != "polling") return respond_eio_error(wsi, HttpError::bad_request); // websocket without Upgrade
    bool is_get = !std::strcmp(method, "GET"), is_post = !std::strcmp(method, "POST");
    if (!q.has_sid) {
        if (!is_get) return respond_eio_error(wsi, HttpError::bad_handshake_method);
        return on_handshake(wsi, q, eio, ep);
    }
    uint32_t index = sids_.find(q.sid);
    if (index == kNoSession) return respond_eio_error(wsi, HttpError::unknown_sid);
    Session& s = sessions_.at(index);
    if (s.ws || s.endpoint != ep || s.eio != eio) return respond_eio_error(wsi, HttpError::bad_request);
    bind(c, id_of(s));
    if (is_get) return on_poll_get(wsi, c, s);
    if (!is_post) return respond_eio_error(wsi, HttpError::bad_request);
    c->kind = ConnKind::poll_post;
    if (length > 0 && uint64_t(length) > opt_.max_payload) { // refused unread; the session ends
        ++stats_.closed_protocol_error;
        c->sess_index = kNoSession;
        kill_session(s, "polling body over max_payload");
        return refuse_http(wsi, c, HttpError::poll_too_large);
    }
    return read_body(wsi, c, length);
}

// A polling handshake: a new session, answered with its open packet.
int ServerImpl::on_handshake(struct lws* wsi, const Query& q, int eio, Endpoint ep) {
    std::string origin = header(wsi, WSI_TOKEN_ORIGIN);
    if (!origin.empty() && !origin_allowed(origin)) {
        ++stats_.handshakes_refused;
        return respond_error(wsi, HttpError::origin_not_allowed);
    }
    if (!connect_allowed(peer(wsi))) return respond_error(wsi, HttpError::rate_limited);
    Session* s = open_session(eio, ep, false);
    if (!s) {
        ++stats_.handshakes_full;
        return respond_error(wsi, draining_ ? HttpError::shutting_down : HttpError::server_full);
    }
    s->b64 = q.b64 == "1" || q.b64 == "true";
    FrameRef open = open_packet(*s, false);
    std::string body;
    EioPacket op{EioType::open, false, open->view().substr(1)};
    if (eio == 4) proto::append_payload_v4(body, op);
    else proto::append_payload_v3_text(body, op);
    start_heartbeat(*s);
    SessionId id = id_of(*s);
    std::string auth = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), remote = peer(wsi);
    int rc = respond(wsi, 200, "text/plain; charset=UTF-8", body);
    if (SessionHandler* h = handlers_[int(ep)]) {
        OpenInfo info{eio, ep, remote, auth, q.token, q.device_id};
        h->on_open(id, info);
    }
    return rc;
}

int ServerImpl::on_poll_get(struct lws* wsi, Conn* c, Session& s) {
    platform::PeerState mine = platform::peer_state(lws_get_socket_fd(wsi));
    if (mine == platform::PeerState::closed || mine == platform::PeerState::reset) {
        // A GET whose client has already dropped it (its request and its end came together,
        // possibly after the retry that replaced it): nobody waits for the answer.
        c->sess_index = kNoSession;
        return -1;
    }
    if (s.poll_wsi) {
        platform::PeerState old = platform::peer_state(lws_get_socket_fd(s.poll_wsi));
        if (old == platform::PeerState::closed || old == platform::PeerState::reset) {
            // The client dropped its pending GET (we had not noticed yet) and polls again: this
            // GET replaces it. Nothing was written to the old one, so nothing is lost.
            // lws closes the old connection when it reads the end of it.
            auto* oc = static_cast<Conn*>(lws_wsi_user(s.poll_wsi));
            if (oc) oc->sess_index = kNoSession;
            s.poll_wsi = nullptr;
        } else {
            // A second concurrent GET: refuse it and end the session; the first poll gets "close".
            end_poll(s, "1", "1:1");
            ++stats_.closed_protocol_error;
            free_session(s, "duplicate poll");
            c->sess_index = kNoSession;
            return respond_eio_error(wsi, HttpError::bad_request);
        }
    }
    c->kind = ConnKind::poll_get;
    s.poll_wsi = wsi;
    s.poll_idle_since = 0;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    if (!s.queue.empty() || s.upgrading || s.closing) lws_callback_on_writable(wsi);
    else lws_rx_flow_control(wsi, 0); // waits: see wake_poll
    return 0;
}

// A complete request body, handled from HTTP_WRITEABLE (see on_body_complete).
int ServerImpl::on_body_done(struct lws* wsi, Conn* c) {
    std::string body = c->body ? std::move(*c->body) : std::string();
    end_body(c);
    if (c->kind == ConnKind::api_post) return on_api_body(wsi, c, std::move(body));
    Session* s = find(c);
    c->sess_index = kNoSession;
    if (!s) return respond_eio_error(wsi, HttpError::unknown_sid);
    SessionId id = id_of(*s);
    PollSink sink([&](const EioPacket& p) {
        if (Session* live = find(id)) handle_packet(*live, p);
    });
    Status st;
    if (s->eio == 4) st = proto::decode_payload_v4(body, sink, scratch_);
    else {
        std::string ctype = header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
        st = ctype.rfind("application/octet-stream", 0) == 0 ? proto::decode_payload_v3_binary(body, sink)
                                                             : proto::decode_payload_v3_text(body, sink, scratch_);
    }
    if (st != Status::ok) {
        ++stats_.closed_protocol_error;
        if (Session* live = find(id)) kill_session(*live, "undecodable polling payload");
        return respond_eio_error(wsi, HttpError::bad_request);
    }
    return respond(wsi, 200, "text/html", "ok");
}

// An API POST with its body: answered now, or later through http_reply() (deferred).
int ServerImpl::on_api_body(struct lws* wsi, Conn* c, std::string body) {
    if (!http_) return respond_error(wsi, HttpError::not_found);
    std::string auth = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), remote = peer(wsi);
    char path[256] = {0};
    lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_POST_URI);
    uint64_t token = next_http_token_++;
    HttpRequest req{"POST", path, {}, auth, body, remote, token};
    HttpResponse r = http_->handle(req);
    if (!r.deferred) return respond(wsi, r);
    c->http_token = token;
    deferred_[token] = wsi;
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    return 0;
}

// Collects queued frames into one polling payload (v4 or v3 text/binary form).
std::string ServerImpl::build_poll_payload(Session& s, bool& binary) {
    std::string out;
    binary = false;
    bool v3_binary = false;
    if (s.eio == 3 && !s.b64) {
        // v3 clients that support binary get the octet-stream form when any frame is binary.
        // (Checked by peeking: the ring has no iterator, so test while draining below.)
    }
    // At most kMaxPollPackets packets and max_payload bytes; the rest waits for the next poll.
    std::vector<FrameRef> frames;
    size_t total = 0;
    while (!s.queue.empty() && frames.size() < kMaxPollPackets) {
        FrameRef f = s.queue.front();
        if (!frames.empty() && total + f->len > opt_.max_payload) break;
        s.queue.pop();
        s.queued_bytes -= f->len;
        stats_.queued_bytes -= f->len;
        total += f->len;
        if (f->binary) v3_binary = true;
        frames.push_back(std::move(f));
    }
    for (const FrameRef& f : frames) {
        EioPacket p;
        if (f->binary) {
            p = EioPacket{EioType::message, true, f->view()};
        } else {
            p = EioPacket{EioType(f->view()[0] - '0'), false, f->view().substr(1)};
        }
        if (s.eio == 4) proto::append_payload_v4(out, p);
        else if (v3_binary && !s.b64) proto::append_payload_v3_binary(out, p);
        else proto::append_payload_v3_text(out, p);
        ++stats_.frames_out;
    }
    binary = s.eio == 3 && v3_binary && !s.b64;
    return out;
}

void ServerImpl::http_reply(uint64_t token, const HttpResponse& r) {
    auto it = deferred_.find(token);
    if (it == deferred_.end()) return;
    auto* c = static_cast<Conn*>(lws_wsi_user(it->second));
    if (c && c->http_token == token && !c->deferred_reply) {
        c->deferred_reply = new HttpResponse(r); // Conn owns it (take, or free_extras)
        lws_callback_on_writable(it->second);
    }
}

int ServerImpl::on_poll_writeable(struct lws* wsi, Conn* c) {
    if (c->body_refused && int32_t(uint32_t(platform::monotonic_ms()) - c->body_deadline) >= 0) return -1; // dropped long enough
    if (c->body_done && c->body) return on_body_done(wsi, c);
    if (c->deferred_reply) {
        std::unique_ptr<HttpResponse> r = take(c->deferred_reply);
        deferred_.erase(c->http_token);
        c->http_token = 0;
        return respond(wsi, *r);
    }
    if (c->reply) {
        std::unique_ptr<std::string> r = take(c->reply);
        c->kind = ConnKind::http;
        return respond(wsi, 200, "text/plain; charset=UTF-8", *r);
    }
    Session* s = find(c);
    if (!s || s->poll_wsi != wsi) return 0;
    return answer_poll(wsi, c, *s);
}

// The session's pending GET may be answered: with what is queued, the close, or the upgrade's noop.
int ServerImpl::answer_poll(struct lws* wsi, Conn* c, Session& s) {
    platform::PeerState peer = platform::peer_state(lws_get_socket_fd(wsi));
    if (peer == platform::PeerState::closed || peer == platform::PeerState::reset) {
        // The client dropped this GET: what is queued stays for its next poll.
        s.poll_wsi = nullptr;
        s.poll_idle_since = platform::monotonic_ms();
        c->sess_index = kNoSession;
        return -1;
    }
    bool binary = false, finished = false;
    std::string body;
    if (!s.queue.empty()) {
        body = build_poll_payload(s, binary);
        wrote(s, true);
    } else if (s.closing) {
        body = s.eio == 3 ? "1:1" : "1";
        finished = true;
    } else if (s.upgrading) {
        body = s.eio == 3 ? "1:6" : "6";
    } else {
        return 0;
    }
    s.poll_wsi = nullptr;
    s.poll_idle_since = platform::monotonic_ms();
    c->kind = ConnKind::http;
    c->sess_index = kNoSession;
    SessionId id = id_of(s);
    int rc = respond(wsi, 200, binary ? "application/octet-stream" : "text/plain; charset=UTF-8", body);
    if (finished)
        if (Session* live = find(id)) free_session(*live, "closed");
    return rc;
}

} // namespace outpost::net
