// server.h - The network server: one libwebsockets context serving Engine.IO and HTTP.
// Owns: listening, the event loop, Engine.IO sessions (polling, WebSocket, upgrade, heartbeat),
// send queues, and routing of other HTTP requests to an HttpHandler. Never: parses Socket.IO
// or application events (that is src/sio and src/hub).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "net/engine.h"

namespace outpost::net {

struct ServerOptions {
    std::string host = "0.0.0.0";
    int port = 3000;
    size_t max_connections = 10000;
    int64_t ping_interval_ms = 25000;
    int64_t ping_timeout_ms = 20000;
    size_t max_payload = 1000000;
    bool allow_eio3 = true;
    bool engineio_endpoint = false; // /engine.io/ (conformance mode)
    std::vector<std::string> cors_origins{"*"};
    uint64_t max_send_queue_bytes = 262144; // up to 2^32: 64 bits on every target (size_t may be 32)
    int64_t connect_per_ip_burst = 60;      // new sessions per client address:
    int64_t connect_per_ip_per_ms = 60000;  // `burst` every `per_ms` (HTTP 429 beyond)
    std::string tls_cert_file, tls_key_file;
    int64_t fd_limit = -1; // the process' open-file limit (-1: unknown): bounds accepted TCP connections
};

class Server : public Transport {
public:
    // Reserves the session pool (max_connections slots) up front; a slot's memory is committed
    // when a session first uses it.
    static std::unique_ptr<Server> create(const ServerOptions& options);
    ~Server() override = default;

    // `engineio` may be null when the /engine.io/ endpoint is off.
    virtual void set_handlers(SessionHandler* socketio, SessionHandler* engineio, HttpHandler* http) = 0;
    // Creates the lws context and starts listening.
    virtual Status start(std::string& error) = 0;
    // The port actually bound (useful with port 0).
    virtual int port() const = 0;
    // Runs one turn of the event loop (returns after events or a timer); false once stopped.
    virtual bool run_once() = 0;
    // One turn that never waits: due timers and whatever socket events are ready now.
    virtual bool run_nowait() = 0;
    // Serves an already connected stream socket as if it had been accepted (the fuzz target
    // feeds the whole server through one end of a socket pair). Takes ownership of `fd`.
    virtual bool adopt(int fd) = 0;
    // "libev" or "poll": the loop lws runs on (known after start()).
    virtual const char* event_loop() const = 0;
    // Wakes run_once() from another thread or a signal handler (async-signal-safe).
    virtual void wake() = 0;
    // Stop accepting new sessions (handshakes get 503) while existing ones drain.
    virtual void set_draining(bool draining) = 0;
    // Applies new limits to live sessions (SIGHUP): heartbeat, max_payload, CORS, send-queue and
    // per-address limits. host, port, max_connections and TLS files need a restart.
    virtual void update_options(const ServerOptions& options) = 0;
    // Re-reads the TLS certificate and key files (same paths) for new handshakes; live
    // connections keep theirs. False with `error` set when the files cannot be used.
    virtual bool reload_tls(std::string& error) = 0;
    // Closes every session (close code 1001) and returns once all are gone or `deadline_ms`
    // passes; then destroys the context.
    virtual void shutdown(int64_t deadline_ms) = 0;
};

} // namespace outpost::net
