// http.cpp - Plain HTTP on the transport: request reading, answers (CORS, persistence), bodies.
// Owns: every HTTP answer the transport writes, request bodies within their budget, the routing
// of requests that are not Engine.IO to the HttpHandler. Never: Engine.IO sessions (polling.cpp).
#include <algorithm>
#include <cstring>

#include "net/server_impl.h"

namespace outpost::net {

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

// One of the transport's own error answers (http_errors.h).
int ServerImpl::respond_error(struct lws* wsi, HttpError e) {
    return respond(wsi, http_error(e).status, "application/json", http_error_body(e));
}

// An answer after which the connection closes: for a request whose body will not be read.
int ServerImpl::refuse_http(struct lws* wsi, Conn* c, HttpError e) {
    c->close_after = true;
    c->keep_alive_10 = false;
    return respond_error(wsi, e);
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
        refused_rc = refuse_http(wsi, c, HttpError::payload_too_large);
        return false;
    }
    if (stats_.http_body_bytes_reserved + uint64_t(length) > kBodyBudgetPayloads * opt_.max_payload ||
        stats_.http_bodies_reading >= opt_.max_connections) {
        ++stats_.http_refused_busy;
        refused_rc = refuse_http(wsi, c, HttpError::server_busy);
        return false;
    }
    c->body = new std::string(); // Conn owns it: end_body, or free_extras
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
    take(c->body);
}

// A piece of a request body. lws 4.1 misreads a body whose request was pipelined behind another
// in one read: it hands the request's own header bytes over as its body (and would then spin on
// the rest). Such a "body" starts with the request line: the connection is closed instead.
// (lws 4.3.5 had the same misreading, fixed in firmware/patches/libwebsockets/
// 01-h1-pipelined-body.patch; unpatched, returning -1 here is a double close in lws.)
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

// A request's headers are in. Bodies: POST only, with a Content-Length (no chunked bodies: lws 4.1
// does not decode them).
int ServerImpl::on_http(struct lws* wsi, Conn* c, const char* path) {
    timers_.run_due(platform::monotonic_ms()); // deadlines first: a late timer must not win a race
    const char* method = method_of(wsi);
    c->kind = ConnKind::http;
    c->sess_index = kNoSession;
    read_persistence(wsi, c);
    c->wished_close = c->close_after; // the client's own persistence, restored by read_body
    c->wished_keep_alive_10 = c->keep_alive_10;
    bool post = !std::strcmp(method, "POST");
    int64_t length = content_length(wsi);
    bool chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    // Any answer given before a body is read (and a body of any method but POST is never read)
    // closes the connection: lws 4.1 would otherwise discard the body itself and can spin when
    // more requests are pipelined behind it. Until begin_body keeps it, the body is dropped.
    if (length > 0 || length == -2 || chunked || (post && length == -1)) {
        c->close_after = true;
        c->keep_alive_10 = false;
        c->body_refused = true;
        c->body_deadline = uint32_t(platform::monotonic_ms() + kDiscardMs);
    }
    if (chunked || (post && length == -1)) return refuse_http(wsi, c, HttpError::length_required);
    if (length == -2) return refuse_http(wsi, c, HttpError::bad_content_length);
    Endpoint ep;
    if (!endpoint_of(path, opt_.engineio_endpoint, ep)) return on_api(wsi, c, method, path, length);
    return on_eio_http(wsi, c, method, ep, length);
}

// Starts reading a body that is to be kept, with the connection's own persistence restored.
int ServerImpl::read_body(struct lws* wsi, Conn* c, int64_t length) {
    int refused_rc = -1;
    if (!begin_body(wsi, c, length, refused_rc)) return refused_rc;
    c->close_after = c->wished_close;
    c->keep_alive_10 = c->wished_keep_alive_10;
    return 0; // answered once the body is complete
}

// A request that is not Engine.IO: handed to the HttpHandler (a POST once its body is in).
int ServerImpl::on_api(struct lws* wsi, Conn* c, const char* method, const char* path, int64_t length) {
    std::string auth = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), remote = peer(wsi);
    if (!std::strcmp(method, "POST")) {
        c->kind = ConnKind::api_post;
        if (http_) {
            HttpRequest head{"POST", path, {}, auth, {}, remote, 0};
            HttpResponse refused = http_->check_head(head);
            if (refused.status != 0) return respond(wsi, refused); // the body is never kept
        }
        return read_body(wsi, c, length);
    }
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.authorization = auth;
    req.remote_addr = remote;
    std::string if_none_match = header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH), accept_encoding = header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
    req.if_none_match = if_none_match;
    req.accept_encoding = accept_encoding;
    if (!http_) return respond_error(wsi, HttpError::not_found);
    return respond(wsi, http_->handle(req));
}

} // namespace outpost::net
