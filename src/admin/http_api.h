// http_api.h - Outpost's own HTTP endpoints: /healthz, /metrics, /api/*, the dashboard and the
// socket.io-client bundle at /socket.io/*.js (PROTOCOL.md §10).
// Owns: admin authentication for HTTP (the admin_token or a JWT with role admin), the JSON and
// Prometheus renderings of the counters. Never: blocks (answers from counters in memory).
#pragma once

#include <functional>
#include <string>

#include "auth/keys.h"
#include "net/engine.h"
#include "settings/settings.h"
#include "sio/socket_layer.h"

struct cJSON;

namespace outpost::hub {
class Hub;
}
namespace outpost::store {
class Store;
}

namespace outpost::admin {

struct Sources {
    const net::EngineStats* engine = nullptr;
    const sio::LayerStats* sio = nullptr;
    hub::Hub* hub = nullptr;       // null in conformance mode
    store::Store* store = nullptr; // null in conformance mode
    net::Transport* transport = nullptr; // answers deferred requests (the HTTP publish)
};

// The error answer of every admin endpoint: {"code":..,"message":..}, both escaped (a message
// may name a member the client chose).
net::HttpResponse error_answer(int status, std::string_view code, std::string_view message);

class HttpApi final : public net::HttpHandler {
public:
    HttpApi(const settings::Settings& settings, Sources sources, int64_t started_mono_ms);
    void set_settings(const settings::Settings& s) { settings_ = s; }
    void set_keys(const auth::KeySet* keys) { keys_ = keys; }
    void set_draining(bool d) { draining_ = d; }

    net::HttpResponse handle(const net::HttpRequest& req) override;
    // POST /api/* needs admin rights: refused (401/403) before its body is read.
    net::HttpResponse check_head(const net::HttpRequest& req) override;

    std::string stats_json() const;
    std::string metrics_text() const;
    // Called once a second by the loop: turns counters into per-second rates.
    void sample(int64_t now_mono_ms);

private:
    bool is_admin(std::string_view authorization, int& status) const;
    net::HttpResponse admin_post(const net::HttpRequest& req);
    net::HttpResponse publish(std::string_view room, const cJSON* body, std::string_view raw, uint64_t reply_token);

    settings::Settings settings_;
    Sources src_;
    const auth::KeySet* keys_ = nullptr;
    int64_t started_ms_;
    bool draining_ = false;
    uint64_t published_ = 0;
    uint64_t last_in_ = 0, last_out_ = 0;
    int64_t last_sample_ms_ = 0;
    double in_per_sec_ = 0, out_per_sec_ = 0;
};

} // namespace outpost::admin
