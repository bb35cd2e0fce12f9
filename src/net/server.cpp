// server.cpp - Engine.IO over libwebsockets: the lws context, its event loop, the lifecycle.
// Owns: the lws context and every wsi's callback (dispatched to sessions.cpp, http.cpp,
// polling.cpp and websocket.cpp); the event loop (event_loop.h); TCP capacity; a connection's
// teardown. Never: interprets message contents (handed to a SessionHandler) or blocks the loop.
// lws rules followed: RECEIVE only decodes and hands over; writes happen in WRITEABLE callbacks,
// one lws_write each (small immediate HTTP answers excepted; a request with a body is always
// answered from HTTP_WRITEABLE); no exception crosses a callback or a timer entry. Every accepted
// TCP connection is counted against a capacity derived from max_connections and the open-file limit.
#include <algorithm>
#include <cstring>

#include "auth/pem.h"
#include "core/log.h"
#include "net/server_impl.h"

namespace outpost::net {
namespace {

// The lws protocol callback: the server is the context's user pointer (no global).
int lws_callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len) {
    struct lws_context* ctx = wsi ? lws_get_context(wsi) : nullptr;
    auto* server = ctx ? static_cast<ServerImpl*>(lws_context_user(ctx)) : nullptr;
    if (!server) return 0;
    try {
        return server->callback(wsi, reason, static_cast<Conn*>(user), in, len);
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

// No lws "validity" pings: Engine.IO has its own heartbeat, and lws keeps each connection's
// validity timer in one sorted list, re-inserted (O(connections)) on every received frame.
const lws_retry_bo_t kNoValidityPings = {nullptr, 0, 0, 0, 0, 0};

} // namespace

// ---------------------------------------------------------------- lifecycle

// Accepted TCP connections allowed at once: two per session slot (a long-poll GET and a POST, or
// a WebSocket and its polling predecessor) plus room for health checks and API calls, and never
// more than the open-file limit leaves after kFdReserve descriptors for the rest of the process
// (database, log, event loop). Beyond it a connection is accepted and closed at once, so accept()
// never fails for want of a descriptor (it would stay readable and spin the loop).
constexpr int64_t kFdReserve = 32, kTcpHeadroom = 64;

Status ServerImpl::start(std::string& error) {
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
    info.retry_and_idle_policy = &kNoValidityPings;
    info.user = this; // lws_callback finds the server through lws_context_user
    if (!opt_.tls_cert_file.empty()) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = opt_.tls_cert_file.c_str();
        info.ssl_private_key_filepath = opt_.tls_key_file.c_str();
    }
    ctx_ = create_context(info);
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

bool ServerImpl::reload_tls(std::string& error) {
    if (opt_.tls_cert_file.empty()) return true;
    Result<auth::TlsPair> pair = auth::read_tls_pair(opt_.tls_cert_file, opt_.tls_key_file);
    if (!pair) {
        error = pair.status() == Status::io_error ? pair.error().message : "kept the old certificate: " + pair.error().message;
        return false;
    }
    int rc = lws_tls_cert_updated(ctx_, opt_.tls_cert_file.c_str(), opt_.tls_key_file.c_str(), pair->cert.data(),
                                  pair->cert.size(), pair->key.data(), pair->key.size());
    if (rc) error = "the TLS library refused the new certificate or key";
    return rc == 0; // the key's bytes are wiped as `pair` goes
}

void ServerImpl::update_options(const ServerOptions& o) {
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

// The event loop: libev (epoll) when this build and lws' libev plugin allow it, else lws' own
// poll(), on which the context is created again.
struct lws_context* ServerImpl::create_context(const struct lws_context_creation_info& info) {
    if ((loop_ = make_libev_loop(on_timer, this))) {
        if (struct lws_context* ctx = loop_->create_context(info)) return ctx;
        loop_.reset();
        loop_ = make_poll_loop(on_timer, this);
        struct lws_context* ctx = loop_->create_context(info);
        if (ctx) OUTPOST_LOG(warn, "event_loop_fallback", "reason=\"lws libev plugin (libwebsockets-evlib-ev) not usable\" loop=poll");
        return ctx;
    }
    loop_ = make_poll_loop(on_timer, this);
    return loop_->create_context(info);
}

// The loop wakes at timers_' next deadline (EventLoop::arm). Re-armed only when the deadline
// moves earlier.
void ServerImpl::arm_timer() {
    int64_t next = timers_.next_deadline();
    if (next == INT64_MAX || next >= armed_at_) return;
    armed_at_ = next;
    int64_t delay_ms = next - platform::monotonic_ms();
    loop_->arm(delay_ms < 0 ? 0 : delay_ms);
}

// An entry from C (the loop's timer): no exception may unwind through it.
void ServerImpl::on_timer(void* arg) {
    auto* self = static_cast<ServerImpl*>(arg);
    try {
        self->armed_at_ = INT64_MAX;
        self->timers_.run_due(platform::monotonic_ms());
        self->arm_timer();
    } catch (const std::exception& e) {
        OUTPOST_LOG(error, "timer_exception", "what=\"%s\"", e.what());
    } catch (...) {
        OUTPOST_LOG(error, "timer_exception", "what=unknown");
    }
}

bool ServerImpl::service(bool wait) {
    timers_.run_due(platform::monotonic_ms());
    arm_timer();
    return loop_->run(wait);
}

bool ServerImpl::run_once() {
    if (!ctx_ || stopping_) return false;
    return service(true);
}

bool ServerImpl::run_nowait() {
    if (!ctx_ || stopping_) return false;
    return service(false);
}

void ServerImpl::shutdown(int64_t deadline_ms) {
    draining_ = true;
    // The last close frames and poll answers get a short grace inside the deadline, not after it.
    int64_t grace = std::clamp<int64_t>((deadline_ms - platform::monotonic_ms()) / 10, 0, 200);
    int64_t drain_end = deadline_ms - grace;
    // Wake the loop at the end of the drain even if no socket has anything to say.
    timers_.schedule(drain_end, [](void*, uint64_t, int64_t) {}, nullptr, 0);
    sessions_.for_each([&](Session& s) { close(id_of(s), "server shutting down", true); });
    for (int64_t now = platform::monotonic_ms(); stats_.sessions_open > 0 && now < drain_end; now = platform::monotonic_ms()) {
        // A polling client that does not come back cannot be told: its session ends once it has
        // not polled for kPollAbandonMs, instead of holding the exit until the deadline.
        sessions_.for_each([&](Session& s) {
            if (!poll_gone(s, now)) return;
            OUTPOST_LOG(info, "abandoned_poll", "sid=%.*s idle_ms=%lld queued=%zu", int(kSidChars), s.sid_chars,
                        (long long)(now - s.poll_idle_since), s.queued_bytes);
            kill_session(s, "abandoned poll", true);
        });
        if (!service(true)) break;
    }
    sessions_.for_each([&](Session& s) { kill_session(s, "server shutting down", true); });
    int64_t grace_end = platform::monotonic_ms() + grace;
    timers_.schedule(grace_end, [](void*, uint64_t, int64_t) {}, nullptr, 0);
    while (platform::monotonic_ms() < grace_end) {
        if (!service(true)) break;
    }
    stopping_ = true;
    lws_context_destroy(ctx_);
    ctx_ = nullptr;
    loop_.reset();
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
    end_body(c); // returns the body's budget
    free_extras(c);
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

std::unique_ptr<Server> Server::create(const ServerOptions& options) { return std::make_unique<ServerImpl>(options); }

} // namespace outpost::net
