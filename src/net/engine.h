// engine.h - The Engine.IO transport seen from above: sessions, messages, and the HTTP hook.
// Owns: the interfaces between src/net (which alone knows libwebsockets) and the layers above.
// Never: exposes lws types; everything here is plain C++.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/slot_table.h"
#include "core/timers.h"
#include "platform/platform.h"
#include "pool/frame.h"
#include "proto/engine.h"

namespace outpost::net {

// A handle to an Engine.IO session slot ({index, gen}; `gen` changes each time the slot is
// reused): the layers above keep their per-session state in mirror tables of the same handles.
using SessionId = core::SlotId;

enum class Endpoint : uint8_t { socketio = 0, engineio = 1 }; // /socket.io/ and /engine.io/

// What the handshake request carried, valid only during on_open.
struct OpenInfo {
    int eio = 4;
    Endpoint endpoint = Endpoint::socketio;
    std::string_view remote_addr;
    std::string_view authorization; // the Authorization header, empty when absent
    std::string_view token;         // the handshake URL's `token` parameter, decoded (never logged)
    std::string_view device_id;     // the handshake URL's `deviceId` parameter (Engine.IO v3 devices)
};

// Implemented by the layer above (the Socket.IO layer, or the bare echo of conformance mode).
class SessionHandler {
public:
    virtual ~SessionHandler() = default;
    virtual void on_open(SessionId id, const OpenInfo& info) = 0;
    // A message packet (text or binary) arrived.
    virtual void on_message(SessionId id, const proto::EioPacket& packet) = 0;
    // The session is gone (the slot is freed right after this returns).
    virtual void on_close(SessionId id, std::string_view reason) = 0;
};

// An HTTP request that is not Engine.IO (health, metrics, API, dashboard).
struct HttpRequest {
    std::string_view method; // "GET", "POST", ...
    std::string_view path;   // without the query
    std::string_view query;
    std::string_view authorization;
    std::string_view body;
    std::string_view remote_addr;
    uint64_t reply_token = 0; // for a deferred answer (see HttpResponse::deferred)
    std::string_view if_none_match{};   // the If-None-Match header, empty when absent
    std::string_view accept_encoding{}; // the Accept-Encoding header, empty when absent
};
struct HttpResponse {
    HttpResponse() = default;
    HttpResponse(int s, std::string type, std::string b, bool later = false)
        : status(s), content_type(std::move(type)), body(std::move(b)), deferred(later) {}
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    // Extra headers, names in lower case ("etag"); a "cache-control" here replaces the default no-store.
    // Written for immediate answers to GET requests (the only ones that set them so far).
    std::vector<std::pair<std::string, std::string>> headers{};
    // The handler answers later with Transport::http_reply(reply_token, ...), e.g. after a commit.
    bool deferred = false;
};
class HttpHandler {
public:
    virtual ~HttpHandler() = default;
    virtual HttpResponse handle(const HttpRequest& req) = 0;
    // Sees a request with a body before the body is read (`req.body` is empty): an answer with a
    // non-zero status refuses it at once and the body is never read (e.g. 401 without an admin
    // token). Status 0: read the body, then handle().
    virtual HttpResponse check_head(const HttpRequest&) { return HttpResponse{0, {}, {}}; }
};

// Counters the transport keeps (read by metrics and tests).
struct EngineStats {
    uint64_t sessions_open = 0;   // slots in use
    uint64_t sessions_peak = 0;
    uint64_t handshakes_ok = 0;
    uint64_t handshakes_refused = 0; // 400s
    uint64_t handshakes_full = 0;    // 503s
    uint64_t handshakes_rate_limited = 0; // 429s
    uint64_t closed_protocol_error = 0;
    uint64_t closed_ping_timeout = 0;
    uint64_t closed_slow_consumer = 0;
    uint64_t frames_out = 0;
    uint64_t bytes_out = 0;
    uint64_t frames_in = 0;
    uint64_t queued_bytes = 0;
    uint64_t tcp_open = 0;          // accepted TCP connections now open (any kind)
    uint64_t tcp_refused = 0;       // accepted and closed at once: over the TCP capacity
    uint64_t http_bodies_reading = 0;   // request bodies being received now
    uint64_t http_body_bytes_reserved = 0; // their declared lengths, against the body budget
    uint64_t http_refused_busy = 0; // bodies refused (503) because the budget was spent
};

// The transport's services to the layers above.
class Transport {
public:
    virtual ~Transport() = default;
    // Queues a frame for the session. False when the session is gone or was just cut for
    // exceeding its send queue (slow consumer); `bypass_limit` is for the last words before a cut.
    virtual bool send(SessionId id, const pool::FrameRef& frame, bool bypass_limit = false) = 0;
    // Flushes what is queued, then closes the session (WebSocket close code 1000, or 1001
    // when `going_away`).
    virtual void close(SessionId id, std::string_view reason, bool going_away = false) = 0;
    virtual bool alive(SessionId id) const = 0;
    virtual int eio_version(SessionId id) const = 0;
    // Bytes waiting in the session's send queue (0 when it is gone).
    virtual size_t queued_bytes(SessionId id) const = 0;
    // True when the session is on long-polling and its client has not polled for a while (it has
    // gone): a full queue there is an abandoned poll, not a slow reader.
    virtual bool poll_abandoned(SessionId /*id*/) const { return false; }
    virtual core::Timers& timers() = 0;
    // The two clocks of the layers above, so that tests can move both: monotonic milliseconds
    // (deadlines, timers) and wall-clock milliseconds since the Unix epoch (timestamps, token exp).
    virtual int64_t now_ms() const = 0;
    virtual int64_t wall_ms() const { return platform::wall_ms(); }
    virtual const EngineStats& stats() const = 0;
    // Completes a deferred HTTP answer; ignored when the client has gone.
    virtual void http_reply(uint64_t reply_token, const HttpResponse& response) = 0;
};

} // namespace outpost::net
