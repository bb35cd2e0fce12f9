// server_impl.h - The transport's one class, shared by the files that implement it (src/net only).
// Owns: the declarations of ServerImpl, Session and Conn, the transport's limits, and the request
// helpers. Never: included outside src/net (it exposes lws types). Implemented in server.cpp
// (lws context, loop, lifecycle, TCP capacity, connection teardown), sessions.cpp, http.cpp,
// polling.cpp and websocket.cpp.
#pragma once

#include <libwebsockets.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/key_index.h"
#include "core/slot_table.h"
#include "core/token_bucket.h"
#include "net/event_loop.h"
#include "net/http_errors.h"
#include "net/server.h"
#include "platform/platform.h"
#include "pool/ring.h"

namespace outpost::net {

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

enum class ConnKind : uint8_t { none, http, poll_get, poll_post, api_post, ws };

// What an upgrade request carried, kept from FILTER_PROTOCOL_CONNECTION to ESTABLISHED.
struct PendingWs {
    int eio = 4;
    Endpoint endpoint = Endpoint::socketio;
    std::string sid, authorization, token, remote, device_id;
    bool close_at_once = false; // a second WebSocket for a session that has one: accepted, then closed
};

// lws per-connection user data: lws zeroes it and frees it without a destructor, so only PODs
// and owning raw pointers here (body, reply, deferred_reply, pending_ws: see take() and
// free_extras()). Ordered for size (88 bytes; the flags are bits): lws allocates one per connection.
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
    bool wished_close : 1;     // http: close_after and keep_alive_10 as the request asked, kept
    bool wished_keep_alive_10 : 1; // while a declared body is not (yet) accepted (on_http, read_body)
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

// Takes one of Conn's owning pointers back (the field is left null).
template <class T>
std::unique_ptr<T> take(T*& field) {
    return std::unique_ptr<T>(std::exchange(field, nullptr));
}
// The one place that frees whatever Conn still owns (the body's budget is returned by end_body first).
inline void free_extras(Conn* c) {
    take(c->body);
    take(c->reply);
    take(c->deferred_reply);
    take(c->pending_ws);
}

// One Engine.IO session, a slot of ServerImpl::sessions_ (whose table keeps its generation).
struct Session {
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

// Request reading helpers (http.cpp).
void read_query(struct lws* wsi, Query& q);
std::string header(struct lws* wsi, enum lws_token_indexes t);
std::string peer(struct lws* wsi);
void read_persistence(struct lws* wsi, Conn* c);
bool upgrade_allowed(struct lws* wsi);
const char* method_of(struct lws* wsi);
bool endpoint_of(std::string_view path, bool engineio_on, Endpoint& ep);
int64_t content_length(struct lws* wsi);

class ServerImpl final : public Server {
public:
    explicit ServerImpl(const ServerOptions& o) : opt_(o), sessions_(o.max_connections) {}
    ~ServerImpl() override {
        if (ctx_) lws_context_destroy(ctx_); // before the loop it runs on (loop_, destroyed next)
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
    const char* event_loop() const override { return loop_ ? loop_->name() : "poll"; }
    void wake() override { if (ctx_) lws_cancel_service(ctx_); }
    void set_draining(bool d) override { draining_ = d; }
    bool reload_tls(std::string& error) override;
    void update_options(const ServerOptions& o) override;
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

    // The lws protocol callback's entry (server.cpp).
    int callback(struct lws* wsi, enum lws_callback_reasons reason, Conn* c, void* in, size_t len);

private:
    // sessions (sessions.cpp)
    Session* find(SessionId id) const { return const_cast<Session*>(sessions_.find(id)); }
    Session* find(const Conn* c) const { return c->sess_index == kNoSession ? nullptr : find(SessionId{c->sess_index, c->sess_gen}); }
    SessionId id_of(const Session& s) const { return sessions_.id_of(s); }
    static void bind(Conn* c, SessionId id) {
        c->sess_index = id.index;
        c->sess_gen = id.gen;
    }
    Session* open_session(int eio, Endpoint ep, bool ws);
    void free_session(Session& s, std::string_view reason);
    void kill_session(Session& s, std::string_view reason, bool going_away = false);
    void new_sid(Session& s);
    FrameRef open_packet(const Session& s, bool ws);
    void start_heartbeat(Session& s);
    void arm_heartbeat(Session& s, int64_t when);
    static void heartbeat_cb(void* ctx, uint64_t arg, int64_t now);
    static void linger_cb(void* ctx, uint64_t arg, int64_t now);
    bool push(Session& s, const FrameRef& f);
    bool enqueue(Session& s, const FrameRef& f, bool bypass_limit);
    void wrote(Session& s, bool kernel_took_all);
    bool poll_gone(const Session& s, int64_t now) const;
    void kick(Session& s);
    static void wake_poll(struct lws* wsi);
    void end_poll(Session& s, const char* v4_body, const char* v3_body);
    void handle_packet(Session& s, const EioPacket& p);

    // HTTP (http.cpp)
    int on_http(struct lws* wsi, Conn* c, const char* path);
    int on_api(struct lws* wsi, Conn* c, const char* method, const char* path, int64_t length);
    int respond(struct lws* wsi, const HttpResponse& r);
    int respond(struct lws* wsi, int status, const char* content_type, std::string_view body) {
        return respond(wsi, HttpResponse{status, content_type, std::string(body)});
    }
    int respond_error(struct lws* wsi, HttpError e);
    int refuse_http(struct lws* wsi, Conn* c, HttpError e);
    int respond_preflight(struct lws* wsi);
    int read_body(struct lws* wsi, Conn* c, int64_t length);
    bool begin_body(struct lws* wsi, Conn* c, int64_t length, int& refused_rc);
    void end_body(Conn* c);
    int on_body(struct lws* wsi, Conn* c, const char* in, size_t len);
    int on_body_complete(struct lws* wsi, Conn* c);
    static void drop_end_cb(void* ctx, uint64_t arg, int64_t now);
    bool origin_allowed(std::string_view origin) const;
    bool cors_wildcard() const;
    bool connect_allowed(const std::string& ip);

    // Engine.IO over HTTP: handshake and long-polling (polling.cpp)
    int on_eio_http(struct lws* wsi, Conn* c, const char* method, Endpoint ep, int64_t length);
    int on_handshake(struct lws* wsi, const Query& q, int eio, Endpoint ep);
    bool parse_eio(const Query& q, int& eio, HttpError& err) const;
    int respond_eio_error(struct lws* wsi, HttpError e);
    int on_poll_get(struct lws* wsi, Conn* c, Session& s);
    int on_body_done(struct lws* wsi, Conn* c);
    int on_api_body(struct lws* wsi, Conn* c, std::string body);
    std::string build_poll_payload(Session& s, bool& binary);
    int on_poll_writeable(struct lws* wsi, Conn* c);
    int answer_poll(struct lws* wsi, Conn* c, Session& s);

    // WebSocket (websocket.cpp)
    int refuse_upgrade(struct lws* wsi, HttpError e);
    int on_filter_ws(struct lws* wsi, Conn* c);
    int on_ws_established(struct lws* wsi, Conn* c);
    int on_ws_receive(struct lws* wsi, Conn* c, const void* in, size_t len);
    void ws_too_large(struct lws* wsi, Conn* c, Session& s);
    int on_ws_message(struct lws* wsi, Conn* c, Session& s, std::string_view msg);
    int on_ws_probe(struct lws* wsi, Conn* c, Session& s, const EioPacket& p);
    int on_ws_writeable(struct lws* wsi, Conn* c);
    int write_one(struct lws* wsi, Session& s);
    int write_coalesced(struct lws* wsi, Session& s);
    static void ws_sweep_cb(void* ctx, uint64_t arg, int64_t now);
    void ws_protocol_closed(Session& s, struct lws* wsi, Conn* c);
    void await_close_ack(struct lws* wsi, Conn* c);
    static void ws_linger_cb(void* ctx, uint64_t arg, int64_t now);
    void linger_ws(struct lws* wsi, Conn* c, bool going_away);

    // loop, TCP capacity and connection teardown (server.cpp)
    struct lws_context* create_context(const struct lws_context_creation_info& info);
    void arm_timer();
    static void on_timer(void* self); // the wake-up armed by arm_timer(): due timers, then the next wake-up
    bool service(bool wait); // one turn: due timers, then one batch of socket events
    void count_tcp(bool opened);
    int refuse_tcp();
    void on_conn_closed(struct lws* wsi, Conn* c);
    void detach_conn(Conn* c);

    ServerOptions opt_;
    core::SlotTable<Session> sessions_;
    struct SidOf {
        const core::SlotTable<Session>* sessions;
        std::string_view operator()(uint32_t index) const { return sessions->at(index).sid(); }
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
    std::unique_ptr<EventLoop> loop_; // declared before ctx_ users: destroyed after ~ServerImpl's body
    struct lws_context* ctx_ = nullptr;
    struct lws_vhost* vhost_ = nullptr;
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

} // namespace outpost::net
