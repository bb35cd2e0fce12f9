// fuzz_server.cpp - libFuzzer target: the whole server (lws HTTP/1 and WebSocket parsing, our
// HTTP routing and bodies, Engine.IO polling and WebSocket sessions, the Socket.IO layer in
// conformance mode, the admin HTTP API) driven through one end of a socket pair per input.
// The real net::Server adopts the other end as if it had accepted it (the way uWebSockets fuzzes
// its whole server over a mocked socket layer). An input is split at "<<>>" into writes; the loop
// runs a bounded number of turns after each, then the client side closes and the connection
// must go away. Oracle besides the sanitizers: the server never spins a turn forever (libFuzzer's
// -timeout) and every connection it adopted is closed in the end.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "admin/http_api.h"
#include "core/log.h"
#include "conformance/conformance.h"
#include "net/server.h"
#include "platform/platform.h"
#include "settings/settings.h"
#include "sio/socket_layer.h"

using namespace outpost;

namespace {

struct World {
    settings::Settings settings;
    std::unique_ptr<net::Server> server;
    std::unique_ptr<hub::ConformanceApp> app;
    std::unique_ptr<sio::SocketLayer> layer;
    std::unique_ptr<hub::EngineEcho> echo;
    std::unique_ptr<admin::HttpApi> api;
};

World* world() {
    static World* w = [] {
        core::log_set_level(core::LogLevel::error);
        auto* x = new World;
        x->settings.conformance = true;
        x->settings.admin_token = "fuzz-admin";
        net::ServerOptions o;
        o.host = "127.0.0.1";
        o.port = 0;
        o.max_connections = 64;
        o.ping_interval_ms = 40; // sessions whose client is gone expire within a few inputs
        o.ping_timeout_ms = 40;
        o.max_payload = 65536;
        o.engineio_endpoint = true;
        o.cors_origins = {"http://allowed.example"};
        o.connect_per_ip_burst = 1 << 30; // every adopted socket has the same (empty) address
        o.connect_per_ip_per_ms = 1;
        x->server = net::Server::create(o);
        x->app = std::make_unique<hub::ConformanceApp>();
        x->layer = std::make_unique<sio::SocketLayer>(*x->server, *x->app, o.max_connections, 1000);
        x->app->attach(x->layer.get());
        x->echo = std::make_unique<hub::EngineEcho>(*x->server);
        admin::Sources sources{&x->server->stats(), &x->layer->stats(), nullptr, nullptr};
        x->api = std::make_unique<admin::HttpApi>(x->settings, sources, platform::monotonic_ms());
        x->server->set_handlers(x->layer.get(), x->echo.get(), x->api.get());
        std::string error;
        if (x->server->start(error) != Status::ok) {
            std::fprintf(stderr, "fuzz_server: %s\n", error.c_str());
            std::abort();
        }
        return x;
    }();
    return w;
}

// Reads and drops what the server wrote, so its writes never block.
void drain(int fd) {
    char buf[65536];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

void turns(net::Server& s, int fd, int n) {
    for (int i = 0; i < n; ++i) {
        s.run_nowait();
        drain(fd);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    World* w = world();
    net::Server& server = *w->server;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    uint64_t open_before = server.stats().tcp_open;
    if (!server.adopt(sv[1])) {
        close(sv[0]);
        return 0;
    }
    std::string_view in(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view kSplit = "<<>>";
    while (true) {
        size_t cut = in.find(kSplit);
        std::string_view piece = in.substr(0, cut);
        while (!piece.empty()) {
            ssize_t n = write(sv[0], piece.data(), piece.size());
            if (n <= 0) break; // the server closed, or its buffer is full: what is left is dropped
            piece.remove_prefix(size_t(n));
            turns(server, sv[0], 1);
        }
        turns(server, sv[0], 4);
        if (cut == std::string_view::npos) break;
        in.remove_prefix(cut + kSplit.size());
    }
    shutdown(sv[0], SHUT_WR);
    turns(server, sv[0], 4);
    close(sv[0]);
    // The connection must go away once its peer has; lws closes it within a few turns.
    for (int i = 0; i < 200 && server.stats().tcp_open > open_before; ++i) server.run_nowait();
    if (server.stats().tcp_open > open_before) {
        std::fprintf(stderr, "fuzz_server: the adopted connection is still open after its peer closed\n");
        std::abort();
    }
    return 0;
}
