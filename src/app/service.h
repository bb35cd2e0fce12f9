// service.h - The running server: the modules wired together, the event loop, reload on SIGHUP
// and drain on SIGTERM/SIGINT.
// Owns: the objects of one run (server, store, hub or conformance app, Socket.IO layer, admin
// API, keys, the running settings), the loop's own timers (watchdog, metrics sampling) and the
// service-manager notifications. Never: parses arguments or prints to the terminal (the
// commands do), nor decides which settings are live (the settings table does).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "admin/http_api.h"
#include "auth/keys.h"
#include "conformance/conformance.h"
#include "hub/hub.h"
#include "net/server.h"
#include "settings/settings.h"
#include "sio/socket_layer.h"
#include "store/store.h"

namespace outpost::app {

// Wakes the loop of the running service, if any. Safe from signal handlers and other threads.
void wake_service() noexcept;

class Service {
public:
    // `server` is created (with `fd_limit`) but not started; `db` is null in conformance mode.
    // `config_path` is re-read on reload (empty: the embedded defaults).
    Service(std::string config_path, settings::Settings s, std::optional<auth::KeySet> keys,
            std::unique_ptr<net::Server> server, int64_t fd_limit, std::unique_ptr<store::Store> db, int64_t started_ms);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Loads the memberships, listens, installs the signal handlers and tells the service manager
    // READY. False (logged) when the server cannot serve.
    bool start();
    // Runs the loop until SIGTERM or SIGINT (reloading on SIGHUP), then drains; the exit code.
    int run();

private:
    void reload();
    void drain();
    void schedule_timers();
    static void watchdog_tick(void* ctx, uint64_t, int64_t now);
    static void sample_tick(void* ctx, uint64_t, int64_t now);

    std::string config_path_;
    settings::Settings settings_; // the running settings (restart-only keys as started)
    std::optional<auth::KeySet> keys_;
    std::unique_ptr<net::Server> server_;
    int64_t fd_limit_; // as the server was created with; reloads keep it
    std::unique_ptr<store::Store> db_;
    int64_t started_ms_;
    int64_t watchdog_ms_;
    hub::ConformanceApp conformance_;
    hub::Hub hub_;
    sio::SocketLayer layer_;
    hub::EngineEcho echo_;
    admin::HttpApi api_;
};

} // namespace outpost::app
