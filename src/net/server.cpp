// server.cpp - Engine.IO over libwebsockets: HTTP long-polling, WebSocket, upgrade, heartbeat.
// Owns: the lws context and every wsi; the fixed pool of Engine.IO session slots; send queues.
// Never: interprets message contents (handed to a SessionHandler) or blocks the loop.
// lws rules followed: RECEIVE only decodes and hands over; writes happen in WRITEABLE callbacks,
// one lws_write each (small immediate HTTP answers excepted; a request with a body is always
// answered from HTTP_WRITEABLE); no exception crosses a callback. Every accepted TCP connection
// is counted against a capacity derived from max_connections and the open-file limit.
#include "net/server.h"

#include <libwebsockets.h>
#if OUTPOST_HAVE_LIBEV
#include <ev.h>
#endif

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/key_index.h"
#include "core/log.h"
#include "core/random_id.h"
#include "auth/pem.h"
#include "core/token_bucket.h"
#include "platform/platform.h"
#include "pool/ring.h"

namespace outpost::net {
namespace {

static_assert(pool::kFrameHeadroom >= LWS_PRE, "frame headroom must cover LWS_PRE");

using pool::FrameRef;
using proto::EioPacket;
using proto::EioType;

constexpr uint32_t kNoSession = UINT32_MAX;
// lws' receive buffer per WebSocket connection (allocated for its whole life): small, since most
// Socket.IO messages fit; a longer message arrives in pieces and is gathered in the session.
constexpr size_t kRxBufferSize = 512;
constexpr uint32_t kMaxFrames = 1024;      // WebSocket frames per message (fragments), whatever their size
constexpr size_t kMaxQueueFrames = 1u << 14; // per session, besides the byte limit
// The send queue may pass limits.max_send_queue_bytes (the soft limit) during a burst; it is cut
// when it stays over it without the kernel taking bytes for longer than ping_timeout_ms, and at
// once past this many times the limit (the hard bound on memory per session, replay included).
constexpr size_t kHardQueueFactor = 4;
constexpr size_t kMaxPollPackets = 16;        // per long-polling answer (PROTOCOL.md §13)
constexpr int64_t kPollAbandonMs = 1000;      // polling with no GET for this long: the client has gone
constexpr int64_t kWsSweepMs = 200;           // WebSocket states lws reaches silently are checked this often
constexpr int64_t kWsCloseAckMs = 600;        // after lws' own Close frame, the client's answer is awaited this long
constexpr size_t kSidBytes = 15, kSidChars = 20; // an Engine.IO sid: base64url of 15 random bytes
constexpr int64_t kDiscardMs = 2000; // a refused request's body is dropped for at most this long, then closed

// Engine.IO HTTP error codes (PROTOCOL.md §1).
enum EioError { kUnknownTransport = 0, kUnknownSid = 1, kBadHandshakeMethod = 2, kBadRequest = 3, kUnsupportedVersion = 5 };

const char* eio_error_message(int code) {
    switch (code) {
    case kUnknownTransport: return "Transport unknown";
    case kUnknownSid: return "Session ID unknown";
    case kBadHandshakeMethod: return "Bad handshake method";
    case kBadRequest: return "Bad request";
    case kUnsupportedVersion: return "Unsupported protocol version";
    }
    return "Bad request";
}

// PROTOCOL.md §10: a handshake from an Origin that cors_origins does not list.
constexpr std::string_view kOriginRefused = "{\"code\":\"origin_not_allowed\",\"message\":\"Origin is not in cors_origins\"}";

enum class ConnKind : uint8_t { none, http, poll_get, poll_post, api_post, ws };

// What an upgrade request carried, kept from FILTER_PROTOCOL_CONNECTION to ESTABLISHED.
struct PendingWs {
    int eio = 4;
    Endpoint endpoint = Endpoint::socketio;
    std::string sid, authorization, token, remote, device_id;
    bool close_at_once = false; // a second WebSocket for a session that has one: accepted, then closed
};

// lws per-connection user data: lws zeroes it, so only PODs and owning raw pointers here.
// Ordered for size (88 bytes; the flags are bits): lws allocates one per connection.
struct Conn {
    ConnKind kind;
    bool body_refused : 1;     // http: a body is declared but will not be kept (refused): dropped
    bool close_now : 1;        // ws: close at the next WRITEABLE
    bool going_away : 1;
    bool close_after : 1;      // http: the request asked for Connection: close (or is HTTP/1.0)
    bool keep_alive_10 : 1;    // http: an HTTP/1.0 request that asked for keep-alive
    bool body_done : 1;        // http: the body is complete; handled at the next HTTP_WRITEABLE
    bool sent_close : 1;       // ws: our Close frame is out; nothing but the TCP close may follow
    bool too_large : 1;        // ws: close with 1009 (a frame declared more than max_payload)
    bool peer_closed : 1;      // ws: the client sent its Close; lws answers it and closes
    uint32_t sess_index, sess_gen;
    std::string* body;     // POST body being received
    std::string* reply;    // a final answer for a poll whose session is gone
    HttpResponse* deferred_reply; // a deferred API answer, ready to write
    uint64_t http_token;   // non-zero while a deferred API answer is awaited
    PendingWs* pending_ws; // between filter and ESTABLISHED
    uint64_t linger_token; // ws: everything is sent, waiting for the client to close first
    int64_t linger_end_ms; // ...until then at the latest
    int64_t last_rx_ms;    // when the client last sent something
    uint32_t body_reserved; // http: the declared body length, held against the body budget
    uint32_t body_deadline; // http: the body must be complete by then (low 32 bits of monotonic ms)
};
static_assert(sizeof(Conn) <= 88, "Conn is allocated per connection: keep it small");

struct Session {
    uint32_t gen = 0;
    bool used = false;
    uint8_t eio = 4;
    Endpoint endpoint = Endpoint::socketio;
    bool ws = false;        // active transport is the WebSocket
    bool upgrading = false; // probe answered, waiting for "5"
    bool b64 = false;       // v3 polling client asked for base64 binary
    bool closing = false;   // flush then close
    bool going_away = false;
    bool awaiting_pong = false;
    int64_t ping_due = 0;
    int64_t dead_at = 0;
    int64_t hb_armed_at = INT64_MAX; // deadline of the session's one pending heartbeat timer entry
    int64_t stall_since = 0;    // the queue is over the soft limit and the kernel took nothing since
    int64_t poll_idle_since = 0; // polling: no GET pending since then (0 while one is)
    struct lws* poll_wsi = nullptr;
    struct lws* ws_wsi = nullptr; // active or probing WebSocket
    char sid_chars[kSidChars] = {}; // in place: ServerImpl::sids_ reads it
    std::string_view sid() const { return {sid_chars, kSidChars}; }
    pool::Ring<FrameRef, 4> queue{kMaxQueueFrames}; // 4 frames in place: an idle session holds no heap
    size_t queued_bytes = 0;
    std::string rx;
    bool rx_binary = false;
    bool rx_in_frame = false; // a WebSocket frame's payload is still arriving
    uint32_t rx_frames = 0;   // frames of the message being received
};

// Query arguments of an Engine.IO request.
struct Query {
    std::string eio, transport, sid, b64, token, device_id;
    bool has_eio = false, has_transport = false, has_sid = false;
};

void read_query(struct lws* wsi, Query& q) {
    char buf[9216]; // a `token` argument may carry a JWT of up to 8 KiB
    for (int n = 0; lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, n) > 0; ++n) {
        std::string_view kv(buf);
        size_t eq = kv.find('=');
        std::string_view key = kv.substr(0, eq);
        std::string_view val = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
        if (key == "EIO") { q.eio.assign(val); q.has_eio = true; }
        else if (key == "transport") { q.transport.assign(val); q.has_transport = true; }
        else if (key == "sid") { q.sid.assign(val); q.has_sid = true; }
        else if (key == "b64") q.b64.assign(val);
        else if (key == "token") q.token.assign(val);
        else if (key == "deviceId") q.device_id.assign(val);
    }
}

std::string header(struct lws* wsi, enum lws_token_indexes t) {
    int len = lws_hdr_total_length(wsi, t);
    if (len <= 0) return {};
    std::string s(size_t(len) + 1, '\0');
    int got = lws_hdr_copy(wsi, s.data(), len + 1, t);
    s.resize(got > 0 ? size_t(got) : 0);
    return s;
}

std::string peer(struct lws* wsi) {
    char buf[64] = {0};
    lws_get_peer_simple(wsi, buf, sizeof buf);
    return buf;
}

class ServerImpl final : public Server {
public:
    explicit ServerImpl(const ServerOptions& o) : opt_(o), sessions_(o.max_connections) {
        free_.reserve(o.max_connections);
        for (size_t i = o.max_connections; i-- > 0;) free_.push_back(uint32_t(i));
    }
    ~ServerImpl() override {
        if (ctx_) lws_context_destroy(ctx_);
#if OUTPOST_HAVE_LIBEV
        if (loop_) ev_loop_destroy(loop_);
#endif
    }

    // ---- Server
    void set_handlers(SessionHandler* sio, SessionHandler* eio, HttpHandler* http) override {
        handlers_[0] = sio;
        handlers_[1] = eio;
        http_ = http;
    }
    Status start(std::string& error) override;
    int port() const override { return bound_port_; }
    bool run_once() override;
    bool run_nowait() override;
    bool adopt(int fd) override { return ctx_ && vhost_ && lws_adopt_socket_vhost(vhost_, fd) != nullptr; }
    const char* event_loop() const override;
    void wake() override { if (ctx_) lws_cancel_service(ctx_); }
    void set_draining(bool d) override { draining_ = d; }
    bool reload_tls(std::string& error) override {
        if (opt_.tls_cert_file.empty()) return true;
        std::string cert, key;
        if (!platform::read_file(opt_.tls_cert_file, cert, 1 << 20) || !platform::read_file(opt_.tls_key_file, key, 1 << 20)) {
            error = "cannot read " + opt_.tls_cert_file + " or " + opt_.tls_key_file + ": " + platform::last_error();
            return false;
        }
        if (!auth::check_tls_pair(cert, key, error)) {
            std::fill(key.begin(), key.end(), '\0');
            error = "kept the old certificate: " + error;
            return false;
        }
        int rc = lws_tls_cert_updated(ctx_, opt_.tls_cert_file.c_str(), opt_.tls_key_file.c_str(), cert.data(), cert.size(),
                                      key.data(), key.size());
        std::fill(key.begin(), key.end(), '\0');
        if (rc) error = "the TLS library refused the new certificate or key";
        return rc == 0;
    }
    void update_options(const ServerOptions& o) override {
        opt_.ping_interval_ms = o.ping_interval_ms;
        opt_.ping_timeout_ms = o.ping_timeout_ms;
        opt_.max_payload = o.max_payload;
        opt_.allow_eio3 = o.allow_eio3;
        opt_.cors_origins = o.cors_origins;
        opt_.max_send_queue_bytes = o.max_send_queue_bytes;
        opt_.connect_per_ip_burst = o.connect_per_ip_burst;
        opt_.connect_per_ip_per_ms = o.connect_per_ip_per_ms;
        ip_buckets_.clear();
    }
    void shutdown(int64_t deadline_ms) override;

    // ---- Transport
    bool send(SessionId id, const FrameRef& frame, bool bypass_limit) override;
    void close(SessionId id, std::string_view reason, bool going_away) override;
    bool alive(SessionId id) const override { return find(id) != nullptr; }
    size_t queued_bytes(SessionId id) const override {
        const Session* s = find(id);
        return s ? s->queued_bytes : 0;
    }
    bool poll_abandoned(SessionId id) const override {
        const Session* s = find(id);
        return s && poll_gone(*s, platform::monotonic_ms());
    }
    int eio_version(SessionId id) const override {
        const Session* s = find(id);
        return s ? s->eio : 0;
    }
    core::Timers& timers() override { return timers_; }
    int64_t now_ms() const override { return platform::monotonic_ms(); }
    const EngineStats& stats() const override { return stats_; }
    void http_reply(uint64_t token, const HttpResponse& r) override;

    int callback(struct lws* wsi, enum lws_callback_reasons reason, Conn* c, void* in, size_t len);

private:
    // sessions
    Session* find(SessionId id) const {
        if (id.index >= sessions_.size()) return nullptr;
        const Session& s = sessions_[id.index];
        return s.used && s.gen == id.gen ? const_cast<Session*>(&s) : nullptr;
    }
    Session* find(const Conn* c) const { return c->sess_index == kNoSession ? nullptr : find(SessionId{c->sess_index, c->sess_gen}); }
    SessionId id_of(const Session& s) const { return SessionId{uint32_t(&s - sessions_.data()), s.gen}; }
    Session* open_session(int eio, Endpoint ep, bool ws);
    void free_session(Session& s, std::string_view reason);
    void kill_session(Session& s, std::string_view reason, bool going_away = false);
    void new_sid(Session& s);
    FrameRef open_packet(const Session& s, bool ws);
    void start_heartbeat(Session& s);
    void arm_heartbeat(Session& s, int64_t when);
    static void heartbeat_cb(void* ctx, uint64_t arg, int64_t now);
    static void linger_cb(void* ctx, uint64_t arg, int64_t now);
    static void ws_sweep_cb(void* ctx, uint64_t arg, int64_t now);
    void ws_protocol_closed(Session& s, struct lws* wsi, Conn* c);
    void await_close_ack(struct lws* wsi, Conn* c);
    static void ws_linger_cb(void* ctx, uint64_t arg, int64_t now);
    static void drop_end_cb(void* ctx, uint64_t arg, int64_t now);
    void linger_ws(struct lws* wsi, Conn* c, bool going_away);
    bool push(Session& s, const FrameRef& f);
    bool enqueue(Session& s, const FrameRef& f, bool bypass_limit);
    void wrote(Session& s, bool kernel_took_all);
    bool poll_gone(const Session& s, int64_t now) const;
    void kick(Session& s);
    static void wake_poll(struct lws* wsi);
    void end_poll(Session& s, const char* v4_body, const char* v3_body);

    // inbound
    void handle_packet(Session& s, const EioPacket& p);
    int on_http(struct lws* wsi, Conn* c, const char* path);
    int on_body_done(struct lws* wsi, Conn* c);
    void count_tcp(bool opened);
    int refuse_tcp();
    int on_poll_get(struct lws* wsi, Conn* c, Session& s);
    int on_filter_ws(struct lws* wsi, Conn* c);
    int on_ws_established(struct lws* wsi, Conn* c);
    int on_ws_receive(struct lws* wsi, Conn* c, const void* in, size_t len);
    int on_ws_message(struct lws* wsi, Conn* c, Session& s, std::string_view msg);
    int on_ws_writeable(struct lws* wsi, Conn* c);
    int write_coalesced(struct lws* wsi, Session& s);
    int on_poll_writeable(struct lws* wsi, Conn* c);
    void on_conn_closed(struct lws* wsi, Conn* c);
    void detach_conn(Conn* c);

    // outbound HTTP
    int respond(struct lws* wsi, const HttpResponse& r);
    int respond(struct lws* wsi, int status, const char* content_type, std::string_view body) {
        return respond(wsi, HttpResponse{status, content_type, std::string(body)});
    }
    int refuse_http(struct lws* wsi, Conn* c, int status, std::string_view body);
    bool begin_body(struct lws* wsi, Conn* c, int64_t length, int& refused_rc);
    void end_body(Conn* c);
    int on_body(struct lws* wsi, Conn* c, const char* in, size_t len);
    int on_body_complete(struct lws* wsi, Conn* c);
    int respond_eio_error(struct lws* wsi, int code);
    int respond_preflight(struct lws* wsi);
    int refuse_upgrade(struct lws* wsi, int status, std::string_view body);
    int respond_json(struct lws* wsi, int status, std::string_view body) { return respond(wsi, status, "application/json", body); }
    std::string build_poll_payload(Session& s, bool& binary);
    bool origin_allowed(std::string_view origin) const;
    bool cors_wildcard() const;
    bool parse_eio(const Query& q, int& eio, int& err) const;
    bool connect_allowed(const std::string& ip);
    void arm_timer();
    static void on_timer(); // the wake-up armed by arm_timer(): due timers, then the next wake-up
    bool service(); // one turn: due timers, then one batch of socket events

    ServerOptions opt_;
    std::vector<Session> sessions_;
    std::vector<uint32_t> free_;
    struct SidOf {
        const std::vector<Session>* sessions;
        std::string_view operator()(uint32_t index) const { return (*sessions)[index].sid(); }
    };
    core::KeyIndex<SidOf> sids_{opt_.max_connections, SidOf{&sessions_}}; // session index by sid: no allocation per session
    std::unordered_map<std::string, core::TokenBucket> ip_buckets_;
    std::unordered_map<uint64_t, struct lws*> deferred_;
    std::unordered_map<uint64_t, struct lws*> lingering_;
    std::unordered_map<uint64_t, struct lws*> dropping_; // refused bodies being dropped, by http_token
    uint64_t next_linger_token_ = 1;
    uint64_t next_http_token_ = 1;
    SessionHandler* handlers_[2] = {nullptr, nullptr};
    HttpHandler* http_ = nullptr;
    struct lws_context* ctx_ = nullptr;
    struct lws_vhost* vhost_ = nullptr;
#if OUTPOST_HAVE_LIBEV
    struct ev_loop* loop_ = nullptr; // lws runs on it when the libev event lib plugin loads
    ev_timer tick_{};                // wakes the loop at timers_' next deadline (arm_timer)
#endif
    lws_sorted_usec_list_t sul_{};
    int64_t armed_at_ = INT64_MAX;
    core::Timers timers_;
    EngineStats stats_;
    int bound_port_ = 0;
    bool draining_ = false;
    bool stopping_ = false;
    std::string scratch_;
    std::vector<unsigned char> coalesce_; // reused: no allocation per write in steady state
    size_t tcp_capacity_ = SIZE_MAX; // accepted TCP connections allowed at once (start())
    uint64_t wsi_count_ = 0, wsi_base_ = 0; // every lws connection object; base: those of the context itself
    int64_t tcp_full_logged_ms_ = INT64_MIN; // the "tcp_full" warning: once per interval
    uint64_t tcp_refused_logged_ = 0;
};

ServerImpl* g_server = nullptr; // the lws protocol callback has no other way to reach us

int lws_callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len) {
    if (!g_server) return 0;
    try {
        return g_server->callback(wsi, reason, static_cast<Conn*>(user), in, len);
    } catch (const std::exception& e) {
        OUTPOST_LOG(error, "callback_exception", "reason=%d what=\"%s\"", int(reason), e.what());
        return -1;
    } catch (...) {
        return -1;
    }
}

const struct lws_protocols kProtocols[] = {
    {"outpost", lws_callback, sizeof(Conn), kRxBufferSize, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

// ---------------------------------------------------------------- lifecycle

// Accepted TCP connections allowed at once: two per session slot (a long-poll GET and a POST, or
// a WebSocket and its polling predecessor) plus room for health checks and API calls, and never
// more than the open-file limit leaves after kFdReserve descriptors for the rest of the process
// (database, log, event loop). Beyond it a connection is accepted and closed at once, so accept()
// never fails for want of a descriptor (it would stay readable and spin the loop).
constexpr int64_t kFdReserve = 32, kTcpHeadroom = 64;

Status ServerImpl::start(std::string& error) {
    g_server = this;
    int64_t capacity = int64_t(2 * opt_.max_connections) + kTcpHeadroom;
    if (opt_.fd_limit > 0) capacity = std::min(capacity, std::max<int64_t>(opt_.fd_limit - kFdReserve, 4));
    tcp_capacity_ = size_t(capacity);
    lws_set_log_level(LLL_ERR, nullptr);
    struct lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = opt_.port;
    info.iface = opt_.host == "0.0.0.0" ? nullptr : opt_.host.c_str();
    info.protocols = kProtocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.timeout_secs = 20;
    info.keepalive_timeout = 30;
    info.max_http_header_data = 12288; // room for a URL or Authorization header with an 8 KiB token
    info.max_http_header_pool = 0;
    info.pt_serv_buf_size = 16384;
    // No lws "validity" pings: Engine.IO has its own heartbeat, and lws keeps each connection's
    // validity timer in one sorted list, re-inserted (O(connections)) on every received frame.
    static const lws_retry_bo_t kNoValidityPings = {nullptr, 0, 0, 0, 0, 0};
    info.retry_and_idle_policy = &kNoValidityPings;
    if (!opt_.tls_cert_file.empty()) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = opt_.tls_cert_file.c_str();
        info.ssl_private_key_filepath = opt_.tls_key_file.c_str();
    }
#if OUTPOST_HAVE_LIBEV
    // The event loop: libev (epoll) costs O(ready sockets) per wakeup where lws' default poll()
    // costs O(connections). lws reaches libev through a plugin (Debian: libwebsockets-evlib-ev);
    // without it the context is created again on poll().
    loop_ = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (loop_) {
        void* foreign[1] = {loop_};
        struct lws_context_creation_info ev_info = info;
        ev_info.options |= LWS_SERVER_OPTION_LIBEV;
        ev_info.foreign_loops = foreign;
        ctx_ = lws_create_context(&ev_info);
        if (ctx_) {
            ev_init(&tick_, [](struct ev_loop*, ev_timer*, int) { on_timer(); });
        } else {
            ev_loop_destroy(loop_);
            loop_ = nullptr;
        }
    }
    if (!ctx_) {
        ctx_ = lws_create_context(&info);
        if (ctx_) OUTPOST_LOG(warn, "event_loop_fallback", "reason=\"lws libev plugin (libwebsockets-evlib-ev) not usable\" loop=poll");
    }
#else
    ctx_ = lws_create_context(&info);
#endif
    if (!ctx_) {
        error = "cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) +
                " (address in use, no permission, or a TLS file that cannot be loaded)";
        return Status::unavailable;
    }
    wsi_base_ = wsi_count_; // the listening socket and lws' own wake-up pipe
    stats_.tcp_open = 0;
    timers_.schedule(platform::monotonic_ms() + kWsSweepMs, ws_sweep_cb, this, 0);
    vhost_ = lws_get_vhost_by_name(ctx_, "default");
    bound_port_ = vhost_ ? lws_get_vhost_listen_port(vhost_) : -1;
    if (bound_port_ <= 0) {
        error = "cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) + " (address in use, or no permission)";
        return Status::unavailable;
    }
    return Status::ok;
}

// The loop wakes at timers_' next deadline: an ev_timer on libev (lws 4.1's libev glue re-arms
// its own timer only from inside its callbacks, so an lws_sul scheduled from out here could sleep
// until the next socket event), an lws_sul on poll(). Re-armed only when the deadline moves earlier.
void ServerImpl::arm_timer() {
    int64_t next = timers_.next_deadline();
    if (next == INT64_MAX || next >= armed_at_) return;
    armed_at_ = next;
    int64_t delay_ms = next - platform::monotonic_ms();
    if (delay_ms < 0) delay_ms = 0;
#if OUTPOST_HAVE_LIBEV
    if (loop_) {
        ev_timer_stop(loop_, &tick_);
        ev_now_update(loop_); // ev_timer counts from the loop's cached time
        ev_timer_set(&tick_, double(delay_ms) / 1000.0, 0.);
        ev_timer_start(loop_, &tick_);
        return;
    }
#endif
    lws_sul_schedule(ctx_, 0, &sul_, [](lws_sorted_usec_list_t*) { on_timer(); }, delay_ms * LWS_US_PER_MS);
}

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
    for (Session& s : self->sessions_) {
        if (!s.used || !s.ws_wsi) continue;
        struct lws* wsi = s.ws_wsi;
        auto* c = static_cast<Conn*>(lws_wsi_user(wsi));
        if (!c || c->close_now || c->too_large || c->sent_close || c->peer_closed) continue;
        if (lws_get_close_length(wsi) > 0) {
            self->ws_protocol_closed(s, wsi, c);
        } else if (size_t(lws_remaining_packet_payload(wsi)) + s.rx.size() > self->opt_.max_payload) {
            ++self->stats_.closed_protocol_error;
            c->too_large = true;
            c->sess_index = kNoSession;
            s.ws_wsi = nullptr;
            lws_callback_on_writable(wsi);
            if (s.ws) self->kill_session(s, "message over max_payload");
            else s.upgrading = false;
        }
    }
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

void ServerImpl::on_timer() {
    if (!g_server) return;
    g_server->armed_at_ = INT64_MAX;
    g_server->timers_.run_due(platform::monotonic_ms());
    g_server->arm_timer();
}

bool ServerImpl::service() {
    timers_.run_due(platform::monotonic_ms());
    arm_timer();
#if OUTPOST_HAVE_LIBEV
    if (loop_) {
        ev_run(loop_, EVRUN_ONCE); // returns after one batch of events (lws_cancel_service included)
        return true;
    }
#endif
    return lws_service(ctx_, 0) >= 0;
}

bool ServerImpl::run_once() {
    if (!ctx_ || stopping_) return false;
    return service();
}

bool ServerImpl::run_nowait() {
    if (!ctx_ || stopping_) return false;
    timers_.run_due(platform::monotonic_ms());
    arm_timer();
#if OUTPOST_HAVE_LIBEV
    if (loop_) {
        ev_run(loop_, EVRUN_NOWAIT);
        return true;
    }
#endif
    return lws_service(ctx_, -1) >= 0;
}

const char* ServerImpl::event_loop() const {
#if OUTPOST_HAVE_LIBEV
    if (loop_) return "libev";
#endif
    return "poll";
}

void ServerImpl::shutdown(int64_t deadline_ms) {
    draining_ = true;
    // The last close frames and poll answers get a short grace inside the deadline, not after it.
    int64_t grace = std::clamp<int64_t>((deadline_ms - platform::monotonic_ms()) / 10, 0, 200);
    int64_t drain_end = deadline_ms - grace;
    // Wake the loop at the end of the drain even if no socket has anything to say.
    timers_.schedule(drain_end, [](void*, uint64_t, int64_t) {}, nullptr, 0);
    for (Session& s : sessions_)
        if (s.used) close(id_of(s), "server shutting down", true);
    for (int64_t now = platform::monotonic_ms(); stats_.sessions_open > 0 && now < drain_end; now = platform::monotonic_ms()) {
        // A polling client that does not come back cannot be told: its session ends once it has
        // not polled for kPollAbandonMs, instead of holding the exit until the deadline.
        for (Session& s : sessions_) {
            if (!s.used || !poll_gone(s, now)) continue;
            OUTPOST_LOG(info, "abandoned_poll", "sid=%.*s idle_ms=%lld queued=%zu", int(kSidChars), s.sid_chars,
                        (long long)(now - s.poll_idle_since), s.queued_bytes);
            kill_session(s, "abandoned poll", true);
        }
        if (!service()) break;
    }
    for (Session& s : sessions_)
        if (s.used) kill_session(s, "server shutting down", true);
    int64_t grace_end = platform::monotonic_ms() + grace;
    timers_.schedule(grace_end, [](void*, uint64_t, int64_t) {}, nullptr, 0);
    while (platform::monotonic_ms() < grace_end) {
        if (!service()) break;
    }
    stopping_ = true;
    lws_context_destroy(ctx_);
    ctx_ = nullptr;
#if OUTPOST_HAVE_LIBEV
    if (loop_) ev_loop_destroy(loop_);
    loop_ = nullptr;
#endif
    g_server = nullptr;
}

// ---------------------------------------------------------------- sessions

void ServerImpl::new_sid(Session& s) {
    for (;;) {
        std::string sid = core::random_id(kSidBytes);
        if (sid.size() != kSidChars || sids_.find(sid) != kNoSession) continue;
        sid.copy(s.sid_chars, kSidChars);
        return;
    }
}

Session* ServerImpl::open_session(int eio, Endpoint ep, bool ws) {
    if (free_.empty() || draining_) return nullptr;
    uint32_t idx = free_.back();
    free_.pop_back();
    Session& s = sessions_[idx];
    s.used = true;
    ++s.gen;
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
    sids_.insert(idx);
    ++stats_.sessions_open;
    if (stats_.sessions_open > stats_.sessions_peak) stats_.sessions_peak = stats_.sessions_open;
    ++stats_.handshakes_ok;
    return &s;
}

// Releases the slot. Callers detach the transports first (kill_session answers the poll and
// closes the WebSocket); the handler hears of it last.
void ServerImpl::free_session(Session& s, std::string_view reason) {
    if (!s.used) return;
    SessionId id = id_of(s);
    s.used = false; // from here on find() fails: handlers may call send/close safely
    SessionHandler* h = handlers_[int(s.endpoint)];
    sids_.erase(id.index);
    stats_.queued_bytes -= s.queued_bytes;
    s.queue.clear();
    s.queued_bytes = 0;
    s.rx.clear();
    s.rx.shrink_to_fit();
    --stats_.sessions_open;
    free_.push_back(id.index);
    if (h) h->on_close(id, reason);
}

// Answers the session's pending poll with a final body and detaches it from the session.
void ServerImpl::end_poll(Session& s, const char* v4_body, const char* v3_body) {
    if (!s.poll_wsi) return;
    s.poll_idle_since = platform::monotonic_ms();
    auto* pc = static_cast<Conn*>(lws_wsi_user(s.poll_wsi));
    if (pc && !pc->reply) pc->reply = new std::string(s.eio == 3 ? v3_body : v4_body);
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
    std::string json = "{\"sid\":\"" + std::string(s.sid()) + "\",\"upgrades\":[" + (ws ? "" : "\"websocket\"") +
                       "],\"pingInterval\":" + std::to_string(opt_.ping_interval_ms) +
                       ",\"pingTimeout\":" + std::to_string(opt_.ping_timeout_ms) +
                       ",\"maxPayload\":" + std::to_string(opt_.max_payload) + "}";
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
// words before a cut.
bool ServerImpl::enqueue(Session& s, const FrameRef& f, bool bypass_limit) {
    if (!f) return false;
    size_t soft = opt_.max_send_queue_bytes;
    int64_t now = platform::monotonic_ms();
    if (!bypass_limit && s.queued_bytes > 0) {
        if (s.queued_bytes + f->len > soft * kHardQueueFactor) return false;
        if (s.stall_since && now - s.stall_since > opt_.ping_timeout_ms) return false;
    }
    if (!push(s, f)) return false;
    if (s.queued_bytes > soft && !s.stall_since) s.stall_since = now;
    return true;
}

// Called after a write: progress resets the stall clock; a queue still over the limit starts it anew.
void ServerImpl::wrote(Session& s, bool kernel_took_all) {
    if (s.queued_bytes <= opt_.max_send_queue_bytes) s.stall_since = 0;
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
                OUTPOST_LOG(info, "slow_consumer", "sid=%.*s queued=%zu limit=%zu cause=\"pongs not read\"", int(kSidChars), s.sid_chars,
                            s.queued_bytes, opt_.max_send_queue_bytes);
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

// ---------------------------------------------------------------- HTTP

bool ServerImpl::cors_wildcard() const {
    return std::find(opt_.cors_origins.begin(), opt_.cors_origins.end(), "*") != opt_.cors_origins.end();
}

bool ServerImpl::origin_allowed(std::string_view origin) const {
    for (const std::string& o : opt_.cors_origins)
        if (o == "*" || o == origin) return true;
    return false;
}

// The connection's persistence rules (PROTOCOL.md §10, RFC 9112 §9.3): `close` among the
// Connection tokens, or HTTP/1.0 without `keep-alive`, closes after the answer.
void read_persistence(struct lws* wsi, Conn* c) {
    char value[128] = {0};
    bool close = false, keep_alive = false;
    if (lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_CONNECTION) > 0) {
        std::string_view rest(value);
        while (!rest.empty()) {
            size_t comma = rest.find(',');
            std::string_view token = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
            while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
            auto is = [&](std::string_view word) {
                return token.size() == word.size() &&
                       std::equal(token.begin(), token.end(), word.begin(), [](char a, char b) { return (a | 0x20) == b; });
            };
            if (is("close")) close = true;
            else if (is("keep-alive")) keep_alive = true;
        }
    }
    char version[16] = {0};
    bool http10 = lws_hdr_copy(wsi, version, sizeof version, WSI_TOKEN_HTTP) > 0 && std::string_view(version) == "HTTP/1.0";
    c->close_after = close || (http10 && !keep_alive);
    c->keep_alive_10 = http10 && keep_alive && !close;
}

// Writes a complete answer: status, our headers, CORS (§10), persistence, the response's own
// headers, then the body; completes the HTTP transaction. Returns -1 when the connection is to close.
int ServerImpl::respond(struct lws* wsi, const HttpResponse& r) {
    auto* c = static_cast<Conn*>(lws_wsi_user(wsi));
    bool close_after = c && c->close_after;
    std::string origin = header(wsi, WSI_TOKEN_ORIGIN);
    size_t extra = origin.size();
    bool has_cache_control = false;
    for (const auto& [name, value] : r.headers) {
        extra += name.size() + value.size() + 4;
        if (name.size() == 13 && std::equal(name.begin(), name.end(), "cache-control", [](char a, char b) { return (a | 0x20) == b; }))
            has_cache_control = true;
    }
    std::vector<unsigned char> head(LWS_PRE + 1024 + extra);
    unsigned char* start = head.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = head.data() + head.size();
    auto add = [&](std::string_view name, std::string_view value) {
        std::string n(name);
        if (n.empty() || n.back() != ':') n += ':';
        return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(n.c_str()),
                                           reinterpret_cast<const unsigned char*>(value.data()), int(value.size()), &p, end) == 0;
    };
    if (lws_add_http_common_headers(wsi, unsigned(r.status), r.content_type.c_str(), r.body.size(), &p, end)) return -1;
    bool wildcard = cors_wildcard();
    if (!origin.empty() && wildcard) {
        if (!add("access-control-allow-origin:", "*")) return -1;
    } else if (!origin.empty() && origin_allowed(origin)) {
        if (!add("access-control-allow-origin:", origin) || !add("access-control-allow-credentials:", "true")) return -1;
    }
    if (!wildcard && !add("vary:", "Origin")) return -1;
    if (!has_cache_control && !add("cache-control:", "no-store")) return -1;
    if (close_after && !add("connection:", "close")) return -1;
    if (!close_after && c && c->keep_alive_10 && !add("connection:", "keep-alive")) return -1;
    for (const auto& [name, value] : r.headers)
        if (!add(name, value)) return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    if (!r.body.empty()) {
        std::vector<unsigned char> out(LWS_PRE + r.body.size());
        std::memcpy(out.data() + LWS_PRE, r.body.data(), r.body.size());
        if (lws_write(wsi, out.data() + LWS_PRE, r.body.size(), LWS_WRITE_HTTP_FINAL) < 0) return -1;
    }
    stats_.bytes_out += r.body.size();
    if (c) c->body_done = false;
    if (close_after && c && c->body_refused && !c->http_token && lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
        // Refused before its body was read: the body is read and dropped for a moment so that the
        // client, still sending, reads this answer instead of a reset (nginx's lingering close).
        c->http_token = next_http_token_++;
        dropping_[c->http_token] = wsi;
        timers_.schedule(platform::monotonic_ms() + kDiscardMs, drop_end_cb, this, c->http_token);
        return 0;
    }
    if (close_after) return -1; // lws closes after writing what is buffered
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

// An answer after which the connection closes: for a request whose body will not be read.
int ServerImpl::refuse_http(struct lws* wsi, Conn* c, int status, std::string_view body) {
    c->close_after = true;
    c->keep_alive_10 = false;
    return respond_json(wsi, status, body);
}

// CORS preflight for polling requests from browsers on other origins.
int ServerImpl::respond_preflight(struct lws* wsi) {
    auto* c = static_cast<Conn*>(lws_wsi_user(wsi));
    std::string origin = header(wsi, WSI_TOKEN_ORIGIN);
    unsigned char buf[LWS_PRE + 1024 + 256];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
    auto add = [&](const char* name, std::string_view value) {
        return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name),
                                           reinterpret_cast<const unsigned char*>(value.data()), int(value.size()), &p, end);
    };
    if (lws_add_http_common_headers(wsi, 204, "text/plain", 0, &p, end)) return -1;
    bool wildcard = cors_wildcard();
    if (!origin.empty() && origin.size() <= 256 && origin_allowed(origin)) {
        if ((wildcard ? add("access-control-allow-origin:", "*")
                      : (add("access-control-allow-origin:", origin) || add("access-control-allow-credentials:", "true"))) ||
            add("access-control-allow-methods:", "GET, POST, OPTIONS") ||
            add("access-control-allow-headers:", "content-type, authorization") || add("access-control-max-age:", "600"))
            return -1;
    }
    if (!wildcard && add("vary:", "Origin")) return -1;
    if (c && c->close_after && add("connection:", "close")) return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    if (c && c->close_after) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int ServerImpl::respond_eio_error(struct lws* wsi, int code) {
    ++stats_.handshakes_refused;
    std::string body = "{\"code\":" + std::to_string(code) + ",\"message\":\"" + eio_error_message(code) + "\"}";
    return respond_json(wsi, 400, body);
}

bool ServerImpl::parse_eio(const Query& q, int& eio, int& err) const {
    if (!q.has_transport || (q.transport != "polling" && q.transport != "websocket")) {
        err = kUnknownTransport;
        return false;
    }
    if (q.eio == "4") eio = 4;
    else if (q.eio == "3" && opt_.allow_eio3) eio = 3;
    else {
        err = kUnsupportedVersion;
        return false;
    }
    return true;
}

// Per-address limit on new sessions (PROTOCOL.md §1: HTTP 429). Idle addresses are forgotten.
bool ServerImpl::connect_allowed(const std::string& ip) {
    int64_t now = platform::monotonic_ms(), retry = 0;
    if (ip_buckets_.size() > 4096) {
        for (auto it = ip_buckets_.begin(); it != ip_buckets_.end();)
            it = it->second.full(now) ? ip_buckets_.erase(it) : std::next(it);
    }
    auto [it, fresh] = ip_buckets_.try_emplace(ip);
    if (fresh) it->second.reset(opt_.connect_per_ip_burst, opt_.connect_per_ip_per_ms, now);
    if (it->second.take(now, retry)) return true;
    ++stats_.handshakes_rate_limited;
    return false;
}

// Only "Upgrade: websocket" goes on. lws 4.1 answers any other value with 403, completes the
// transaction (which can free the header table), then calls this with `in` pointing into the
// freed table and compares it again after we return (a use-after-free the fuzz target found, the
// CVE-2025-11677 path). So `in` is never read: the header is read again, and a table that is gone
// means that 403 was sent: hang up, and lws never reaches its second comparison.
bool upgrade_allowed(struct lws* wsi) {
    char up[16] = {0};
    if (lws_hdr_copy(wsi, up, sizeof up, WSI_TOKEN_UPGRADE) != 9) return false;
    return std::equal(up, up + 9, "websocket", [](char a, char b) { return (a | 0x20) == b; });
}

const char* method_of(struct lws* wsi) {
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)) return "GET";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI)) return "POST";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI)) return "OPTIONS";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI)) return "PUT";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI)) return "PATCH";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI)) return "DELETE";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI)) return "HEAD";
    return "OTHER";
}

bool endpoint_of(std::string_view path, bool engineio_on, Endpoint& ep) {
    if (path == "/socket.io/" || path == "/socket.io") {
        ep = Endpoint::socketio;
        return true;
    }
    if (engineio_on && (path == "/engine.io/" || path == "/engine.io")) {
        ep = Endpoint::engineio;
        return true;
    }
    return false;
}

// The declared Content-Length: -1 when absent, -2 when it is not a plain decimal number.
int64_t content_length(struct lws* wsi) {
    char buf[32] = {0};
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) return -1;
    if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) return -2;
    int64_t n = 0;
    for (const char* q = buf; *q; ++q) {
        if (*q < '0' || *q > '9' || n > (INT64_MAX - 9) / 10) return -2;
        n = n * 10 + (*q - '0');
    }
    return buf[0] ? n : -2;
}

// Starts receiving a request body of `length` bytes, within the limits: one body is at most
// max_payload; all bodies being received at once hold at most kBodyBudgetPayloads * max_payload
// bytes (reserved by their declared length) on at most max_connections connections; a body must
// be complete within ping_interval + ping_timeout of its headers. False: refused and answered
// (`refused_rc` is the callback's return value).
constexpr size_t kBodyBudgetPayloads = 16;

bool ServerImpl::begin_body(struct lws* wsi, Conn* c, int64_t length, int& refused_rc) {
    if (uint64_t(length) > opt_.max_payload) {
        refused_rc = refuse_http(wsi, c, 413, "{\"code\":\"payload_too_large\",\"message\":\"request body over max_payload\"}");
        return false;
    }
    if (stats_.http_body_bytes_reserved + uint64_t(length) > kBodyBudgetPayloads * opt_.max_payload ||
        stats_.http_bodies_reading >= opt_.max_connections) {
        ++stats_.http_refused_busy;
        refused_rc = refuse_http(wsi, c, 503, "{\"code\":\"server_busy\",\"message\":\"too many request bodies in flight; retry later\"}");
        return false;
    }
    c->body = new std::string();
    c->body_refused = false;
    c->body_reserved = uint32_t(length);
    c->body_deadline = uint32_t(platform::monotonic_ms() + opt_.ping_interval_ms + opt_.ping_timeout_ms);
    ++stats_.http_bodies_reading;
    stats_.http_body_bytes_reserved += uint64_t(length);
    return true;
}

// The time to drop a refused body is over: the connection closes at its next HTTP_WRITEABLE (an
// lws timeout set from out here might only fire at the next socket event, see arm_timer).
void ServerImpl::drop_end_cb(void* ctx, uint64_t token, int64_t) {
    auto* self = static_cast<ServerImpl*>(ctx);
    auto it = self->dropping_.find(token);
    if (it == self->dropping_.end()) return;
    lws_callback_on_writable(it->second);
}

void ServerImpl::end_body(Conn* c) {
    if (c->body) --stats_.http_bodies_reading;
    stats_.http_body_bytes_reserved -= c->body_reserved;
    c->body_reserved = 0;
    delete c->body;
    c->body = nullptr;
}

// A piece of a request body. lws 4.1 misreads a body whose request was pipelined behind another
// in one read: it hands the request's own header bytes over as its body (and would then spin on
// the rest). Such a "body" starts with the request line: the connection is closed instead.
int ServerImpl::on_body(struct lws* wsi, Conn* c, const char* in, size_t len) {
    (void)wsi;
    if (!c->body) // refused: dropped until the deadline
        return c->body_refused && int32_t(uint32_t(platform::monotonic_ms()) - c->body_deadline) <= 0 ? 0 : -1;
    if (c->body_done) return -1;
    if (c->body->empty()) {
        std::string_view head(in, len);
        while (!head.empty() && (head.front() == '\r' || head.front() == '\n')) head.remove_prefix(1);
        constexpr std::string_view kLine = "POST ";
        if (!head.empty() && kLine.substr(0, std::min(head.size(), kLine.size())) == head.substr(0, kLine.size())) return -1;
    }
    if (int32_t(uint32_t(platform::monotonic_ms()) - c->body_deadline) > 0) return -1; // a body that trickles
    if (c->body->size() + len > opt_.max_payload) return -1; // lws delivers the declared length only
    c->body->append(in, len);
    return 0;
}

// The body is complete. It is handled (and answered) from HTTP_WRITEABLE, not from here: an
// answer that completes the transaction inside lws' body loop makes lws 4.1 spin on pipelined
// input. (lws_rx_flow_control cannot hold that input back: on an HTTP/1 connection it also
// stops the WRITEABLE callbacks.) lws calls this again for the same request when more input is
// pipelined behind the body: then the answer goes now, with Connection: close, and the
// connection closes.
int ServerImpl::on_body_complete(struct lws* wsi, Conn* c) {
    if (!c->body) return -1; // a refused body, all dropped: close
    if (!c->body_done) {
        if (!c->body) return -1;
        c->body_done = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    c->close_after = true;
    c->keep_alive_10 = false;
    if (c->body) on_body_done(wsi, c);
    return -1;
}

int ServerImpl::on_http(struct lws* wsi, Conn* c, const char* path) {
    timers_.run_due(platform::monotonic_ms()); // deadlines first: a late timer must not win a race
    const char* method = method_of(wsi);
    c->kind = ConnKind::http;
    c->sess_index = kNoSession;
    read_persistence(wsi, c);
    bool post = !std::strcmp(method, "POST");
    int64_t length = content_length(wsi);
    bool chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    // Any answer given before a body is read (and a body of any method but POST is never read)
    // closes the connection: lws 4.1 would otherwise discard the body itself and can spin when
    // more requests are pipelined behind it. Until begin_body keeps it, the body is dropped.
    const bool close_wanted = c->close_after, keep_alive_10 = c->keep_alive_10;
    if (length > 0 || length == -2 || chunked || (post && length == -1)) {
        c->close_after = true;
        c->keep_alive_10 = false;
        c->body_refused = true;
        c->body_deadline = uint32_t(platform::monotonic_ms() + kDiscardMs);
    }
    // Bodies: POST only, with a Content-Length (no chunked bodies: lws 4.1 does not decode them).
    if (chunked || (post && length == -1))
        return refuse_http(wsi, c, 411, "{\"code\":\"length_required\",\"message\":\"a request body needs Content-Length; chunked bodies are not accepted\"}");
    if (length == -2) return refuse_http(wsi, c, 400, "{\"code\":\"bad_request\",\"message\":\"Content-Length: expected a decimal number\"}");
    auto read_body = [&] {
        int refused_rc = -1;
        if (!begin_body(wsi, c, length, refused_rc)) return refused_rc;
        c->close_after = close_wanted;
        c->keep_alive_10 = keep_alive_10;
        return 0; // answered once the body is complete
    };
    Endpoint ep;
    if (!endpoint_of(path, opt_.engineio_endpoint, ep)) {
        if (post) {
            c->kind = ConnKind::api_post;
            if (http_) {
                std::string auth = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), remote = peer(wsi);
                HttpRequest head{"POST", path, {}, auth, {}, remote, 0};
                HttpResponse refused = http_->check_head(head);
                if (refused.status != 0) return respond(wsi, refused); // the body is never kept
            }
            return read_body();
        }
        HttpRequest req;
        std::string auth = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), remote = peer(wsi);
        req.method = method;
        req.path = path;
        req.authorization = auth;
        req.remote_addr = remote;
        std::string if_none_match = header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH), accept_encoding = header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
        req.if_none_match = if_none_match;
        req.accept_encoding = accept_encoding;
        HttpResponse r = http_ ? http_->handle(req) : HttpResponse{404, "application/json", "{\"code\":\"not_found\",\"message\":\"no such endpoint\"}"};
        return respond(wsi, r);
    }
    if (!std::strcmp(method, "OPTIONS")) return respond_preflight(wsi);
    Query q;
    read_query(wsi, q);
    int eio = 4, err = 0;
    if (!parse_eio(q, eio, err)) return respond_eio_error(wsi, err);
    if (q.transport != "polling") return respond_eio_error(wsi, kBadRequest); // websocket without Upgrade
    bool is_get = !std::strcmp(method, "GET"), is_post = !std::strcmp(method, "POST");
    if (!q.has_sid) {
        if (!is_get) return respond_eio_error(wsi, kBadHandshakeMethod);
        std::string origin = header(wsi, WSI_TOKEN_ORIGIN);
        if (!origin.empty() && !origin_allowed(origin)) {
            ++stats_.handshakes_refused;
            return respond_json(wsi, 403, kOriginRefused);
        }
        std::string remote_ip = peer(wsi);
        if (!connect_allowed(remote_ip))
            return respond_json(wsi, 429, "{\"code\":\"rate_limited\",\"message\":\"too many new connections from this address\"}");
        Session* s = open_session(eio, ep, false);
        if (!s) {
            ++stats_.handshakes_full;
            return respond_json(wsi, 503, draining_ ? "{\"code\":\"server_full\",\"message\":\"server is shutting down\"}"
                                                    : "{\"code\":\"server_full\",\"message\":\"no free connection slot\"}");
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
    uint32_t index = sids_.find(q.sid);
    if (index == kNoSession) return respond_eio_error(wsi, kUnknownSid);
    Session& s = sessions_[index];
    if (s.ws || s.endpoint != ep || s.eio != eio) return respond_eio_error(wsi, kBadRequest);
    c->sess_index = index;
    c->sess_gen = s.gen;
    if (is_get) return on_poll_get(wsi, c, s);
    if (is_post) {
        c->kind = ConnKind::poll_post;
        if (length > 0 && uint64_t(length) > opt_.max_payload) { // refused unread; the session ends
            ++stats_.closed_protocol_error;
            c->sess_index = kNoSession;
            kill_session(s, "polling body over max_payload");
            return refuse_http(wsi, c, 413, "{\"code\":3,\"message\":\"Payload too large\"}");
        }
        return read_body();
    }
    return respond_eio_error(wsi, kBadRequest);
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
            return respond_eio_error(wsi, kBadRequest);
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
    if (c->kind == ConnKind::api_post) {
        std::string auth = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), remote = peer(wsi);
        char path[256] = {0};
        lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_POST_URI);
        uint64_t token = next_http_token_++;
        HttpRequest req{"POST", path, {}, auth, body, remote, token};
        HttpResponse r = http_ ? http_->handle(req) : HttpResponse{404, "application/json", "{\"code\":\"not_found\",\"message\":\"no such endpoint\"}"};
        if (r.deferred) {
            c->http_token = token;
            deferred_[token] = wsi;
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
            return 0;
        }
        return respond(wsi, r);
    }
    Session* s = find(c);
    c->sess_index = kNoSession;
    if (!s) return respond_eio_error(wsi, kUnknownSid);
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
        return respond_eio_error(wsi, kBadRequest);
    }
    return respond(wsi, 200, "text/html", "ok");
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
        c->deferred_reply = new HttpResponse(r);
        lws_callback_on_writable(it->second);
    }
}

int ServerImpl::on_poll_writeable(struct lws* wsi, Conn* c) {
    if (c->body_refused && int32_t(uint32_t(platform::monotonic_ms()) - c->body_deadline) >= 0) return -1; // dropped long enough
    if (c->body_done && c->body) return on_body_done(wsi, c);
    if (c->deferred_reply) {
        std::unique_ptr<HttpResponse> r(c->deferred_reply);
        c->deferred_reply = nullptr;
        deferred_.erase(c->http_token);
        c->http_token = 0;
        return respond(wsi, *r);
    }
    if (c->reply) {
        std::string r = std::move(*c->reply);
        delete c->reply;
        c->reply = nullptr;
        c->kind = ConnKind::http;
        return respond(wsi, 200, "text/plain; charset=UTF-8", r);
    }
    Session* s = find(c);
    if (!s || s->poll_wsi != wsi) return 0;
    platform::PeerState peer = platform::peer_state(lws_get_socket_fd(wsi));
    if (peer == platform::PeerState::closed || peer == platform::PeerState::reset) {
        // The client dropped this GET: what is queued stays for its next poll.
        s->poll_wsi = nullptr;
        s->poll_idle_since = platform::monotonic_ms();
        c->sess_index = kNoSession;
        return -1;
    }
    bool binary = false, finished = false;
    std::string body;
    if (!s->queue.empty()) {
        body = build_poll_payload(*s, binary);
        wrote(*s, true);
    } else if (s->closing) {
        body = s->eio == 3 ? "1:1" : "1";
        finished = true;
    } else if (s->upgrading) {
        body = s->eio == 3 ? "1:6" : "6";
    } else {
        return 0;
    }
    s->poll_wsi = nullptr;
    s->poll_idle_since = platform::monotonic_ms();
    c->kind = ConnKind::http;
    c->sess_index = kNoSession;
    SessionId id = id_of(*s);
    int rc = respond(wsi, 200, binary ? "application/octet-stream" : "text/plain; charset=UTF-8", body);
    if (finished)
        if (Session* live = find(id)) free_session(*live, "closed");
    return rc;
}

// ---------------------------------------------------------------- WebSocket

// Refuses an upgrade request with an HTTP answer written before lws drops the connection
// (clients then see the status and body, as with Node's engine.io).
int ServerImpl::refuse_upgrade(struct lws* wsi, int status, std::string_view body) {
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
    if (!endpoint_of(path, opt_.engineio_endpoint, ep))
        return refuse_upgrade(wsi, 404, "{\"code\":\"not_found\",\"message\":\"no such endpoint\"}");
    Query q;
    read_query(wsi, q);
    int eio = 4, err = 0;
    auto eio_error = [&](int code) {
        ++stats_.handshakes_refused;
        std::string body = "{\"code\":" + std::to_string(code) + ",\"message\":\"" + eio_error_message(code) + "\"}";
        return refuse_upgrade(wsi, 400, body);
    };
    if (!parse_eio(q, eio, err)) return eio_error(err);
    if (q.transport != "websocket") return eio_error(kBadRequest);
    if (q.has_sid) {
        uint32_t index = sids_.find(q.sid);
        if (index == kNoSession) return eio_error(kUnknownSid);
        Session& s = sessions_[index];
        if (s.closing || s.endpoint != ep || s.eio != eio) return eio_error(kBadRequest);
        if (s.ws || s.ws_wsi) {
            // The session already has its WebSocket (upgraded or probing). Like the reference
            // server, the handshake is accepted and the new connection closed at once; the
            // session is untouched.
            c->pending_ws = new PendingWs{eio, ep, {}, {}, {}, {}, {}, true};
            return 0;
        }
    } else if (std::string origin = header(wsi, WSI_TOKEN_ORIGIN); !origin.empty() && !origin_allowed(origin)) {
        ++stats_.handshakes_refused;
        return refuse_upgrade(wsi, 403, kOriginRefused);
    } else if (free_.empty() || draining_) {
        ++stats_.handshakes_full;
        return refuse_upgrade(wsi, 503, draining_ ? "{\"code\":\"server_full\",\"message\":\"server is shutting down\"}"
                                                  : "{\"code\":\"server_full\",\"message\":\"no free connection slot\"}");
    } else if (!connect_allowed(peer(wsi))) {
        return refuse_upgrade(wsi, 429, "{\"code\":\"rate_limited\",\"message\":\"too many new connections from this address\"}");
    }
    c->pending_ws = new PendingWs{eio, ep, q.sid, header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), q.token, peer(wsi), q.device_id};
    return 0;
}

int ServerImpl::on_ws_established(struct lws* wsi, Conn* c) {
    std::unique_ptr<PendingWs> pw(c->pending_ws);
    c->pending_ws = nullptr;
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
        Session& s = sessions_[index];
        if (s.ws || s.ws_wsi || s.closing) return -1;
        s.ws_wsi = wsi;
        c->sess_index = index;
        c->sess_gen = s.gen;
        return 0;
    }
    Session* s = open_session(pw->eio, pw->endpoint, true);
    if (!s) return -1;
    s->ws_wsi = wsi;
    c->sess_index = uint32_t(s - sessions_.data());
    c->sess_gen = s->gen;
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
        ++stats_.closed_protocol_error;
        c->too_large = true;
        lws_callback_on_writable(wsi);
        c->sess_index = kNoSession;
        if (s->ws_wsi == wsi) {
            s->ws_wsi = nullptr;
            if (s->ws) kill_session(*s, "message over max_payload");
            else s->upgrading = false;
        }
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
    if (probing) {
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
    handle_packet(s, p);
    return 0;
}

int ServerImpl::on_ws_writeable(struct lws* wsi, Conn* c) {
    if (c->sent_close) return 0; // after a Close frame, no data frame (RFC 6455 §5.5.1)
    if (c->too_large) {
        // 1009 while the client may still be sending the frame: our Close goes out now, its
        // bytes are read and dropped until it answers or kWsCloseAckMs pass (closing with
        // unread input would reset the connection and the client would not see the code).
        // Framed by hand (FIN + opcode 8, 2-byte payload): lws frames a Close only on its way
        // to closing the socket at once.
        unsigned char buf[LWS_PRE + 4];
        buf[LWS_PRE] = 0x88;
        buf[LWS_PRE + 1] = 2;
        buf[LWS_PRE + 2] = uint8_t(LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE >> 8);
        buf[LWS_PRE + 3] = uint8_t(LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE & 0xff);
        if (lws_write(wsi, buf + LWS_PRE, 4, LWS_WRITE_RAW) < 0) return -1;
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
    FrameRef f = s->queue.front();
    s->queue.pop();
    s->queued_bytes -= f->len;
    stats_.queued_bytes -= f->len;
    ++stats_.frames_out;
    stats_.bytes_out += f->len;
    int n;
    if (f->binary && s->eio == 3) {
        // v3 WebSocket binary frames carry the packet type as their first byte.
        std::vector<unsigned char> buf(LWS_PRE + 1 + f->len);
        buf[LWS_PRE] = 4;
        std::memcpy(buf.data() + LWS_PRE + 1, f->data(), f->len);
        n = lws_write(wsi, buf.data() + LWS_PRE, f->len + 1, LWS_WRITE_BINARY);
    } else {
        n = lws_write(wsi, f->data(), f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    }
    if (n < 0) return -1;
    wrote(*s, !lws_partial_buffered(wsi));
    if (!s->queue.empty() || s->closing) lws_callback_on_writable(wsi);
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
        if (coalesce_.size() > LWS_PRE && coalesce_.size() - LWS_PRE + len + 10 > kMaxBatch) break;
        unsigned char hdr[10];
        size_t h = 0;
        hdr[h++] = f->binary ? 0x82 : 0x81; // FIN + opcode
        if (len < 126) {
            hdr[h++] = static_cast<unsigned char>(len);
        } else if (len <= 0xffff) {
            hdr[h++] = 126;
            hdr[h++] = static_cast<unsigned char>(len >> 8);
            hdr[h++] = static_cast<unsigned char>(len);
        } else {
            hdr[h++] = 127;
            for (int i = 7; i >= 0; --i) hdr[h++] = static_cast<unsigned char>(uint64_t(len) >> (8 * i));
        }
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

// ---------------------------------------------------------------- TCP capacity

void ServerImpl::count_tcp(bool opened) {
    if (opened) ++wsi_count_;
    else if (wsi_count_) --wsi_count_;
    stats_.tcp_open = wsi_count_ > wsi_base_ ? wsi_count_ - wsi_base_ : 0;
}

// A connection over the TCP capacity: closed at once (lws closes the accepted descriptor). Logged
// at most once per interval, with the count refused since the last line.
int ServerImpl::refuse_tcp() {
    constexpr int64_t kLogIntervalMs = 10000;
    ++stats_.tcp_refused;
    int64_t now = platform::monotonic_ms();
    if (tcp_full_logged_ms_ == INT64_MIN || now - tcp_full_logged_ms_ >= kLogIntervalMs) {
        OUTPOST_LOG(warn, "tcp_full", "open=%llu capacity=%llu refused=%llu fd_limit=%lld hint=\"raise max_connections or the open-file limit\"",
                    (unsigned long long)stats_.tcp_open, (unsigned long long)tcp_capacity_,
                    (unsigned long long)(stats_.tcp_refused - tcp_refused_logged_), (long long)opt_.fd_limit);
        tcp_full_logged_ms_ = now;
        tcp_refused_logged_ = stats_.tcp_refused;
    }
    return 1;
}

// ---------------------------------------------------------------- teardown of a connection

void ServerImpl::detach_conn(Conn* c) {
    if (c->linger_token) lingering_.erase(c->linger_token);
    c->linger_token = 0;
    if (c->http_token) {
        deferred_.erase(c->http_token);
        dropping_.erase(c->http_token);
    }
    c->http_token = 0;
    delete c->deferred_reply;
    c->deferred_reply = nullptr;
    end_body(c);
    delete c->reply;
    c->reply = nullptr;
    delete c->pending_ws;
    c->pending_ws = nullptr;
}

void ServerImpl::on_conn_closed(struct lws* wsi, Conn* c) {
    Session* s = find(c);
    c->sess_index = kNoSession;
    if (s) {
        if (s->poll_wsi == wsi) {
            s->poll_wsi = nullptr;
            s->poll_idle_since = platform::monotonic_ms();
        }
        if (s->ws_wsi == wsi) {
            s->ws_wsi = nullptr;
            if (s->ws) free_session(*s, "transport close");
            else s->upgrading = false;
        }
    }
    detach_conn(c);
}

int ServerImpl::callback(struct lws* wsi, enum lws_callback_reasons reason, Conn* c, void* in, size_t len) {
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, c, static_cast<const char*>(in));
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(wsi, c, static_cast<const char*>(in), len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_complete(wsi, c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_poll_writeable(wsi, c);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c) on_conn_closed(wsi, c);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return upgrade_allowed(wsi) ? 0 : -1;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter_ws(wsi, c);
    case LWS_CALLBACK_ESTABLISHED:
        return on_ws_established(wsi, c);
    case LWS_CALLBACK_RECEIVE:
        return on_ws_receive(wsi, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_ws_writeable(wsi, c);
    case LWS_CALLBACK_CLOSED:
        on_conn_closed(wsi, c);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (!c) return 0;
        c->peer_closed = true;
        return c->sent_close ? 1 : 0; // the answer to our Close: close now, no second Close
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        return 0;
    case LWS_CALLBACK_WSI_CREATE:
        count_tcp(true);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        count_tcp(false);
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return stats_.tcp_open >= tcp_capacity_ ? refuse_tcp() : 0;
    default:
        return 0;
    }
}

} // namespace

std::unique_ptr<Server> Server::create(const ServerOptions& options) { return std::make_unique<ServerImpl>(options); }

} // namespace outpost::net
