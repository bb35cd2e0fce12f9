// hub.h - The application behind namespace "/": authenticated sockets and the event router.
// Owns: per-socket identity (JWT), connection:established, auth:refresh / auth:expiring and the
// cut at exp + leeway, the event table (name -> handler, payload rules, admin flag), and the
// ack / server:error shapes of PROTOCOL.md §3. Never: touches lws or SQL directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "settings/settings.h"
#include "sio/socket_layer.h"

namespace outpost::hub {

// The wire error codes of PROTOCOL.md §3.
enum class ErrorCode : uint8_t {
    invalid_payload,
    unknown_event,
    forbidden,
    not_member,
    rate_limited,
    payload_too_large,
    room_full,
    unavailable,
    internal,
};
std::string_view error_code_name(ErrorCode c);

struct HubStats {
    uint64_t connects_ok = 0;
    uint64_t auth_failures[9] = {}; // by auth::AuthCode
    uint64_t events_in = 0;
    uint64_t errors_out = 0;
    uint64_t expired_cuts = 0;
};

class Hub final : public sio::App {
public:
    Hub(const settings::Settings& settings, size_t max_sessions);

    void attach(sio::SocketLayer* layer) { layer_ = layer; }
    // The keys in force (swapped on SIGHUP without touching live sockets).
    void set_keys(const auth::KeySet* keys) { keys_ = keys; }
    void set_settings(const settings::Settings& s);

    // ---- sio::App
    int namespace_index(std::string_view path) const override { return path == "/" ? 0 : -1; }
    std::string_view namespace_name(uint8_t) const override { return "/"; }
    void on_connect(sio::SocketId s, const sio::ConnectRequest& req) override;
    void on_event(sio::SocketId s, const sio::Event& e) override;
    void on_disconnect(sio::SocketId s, std::string_view reason) override;

    // Counts and identities for stats and admin (sockets connected, distinct users).
    uint64_t sockets() const { return sockets_; }
    const HubStats& stats() const { return stats_; }

private:
    struct Sock {
        uint32_t gen = 0;
        bool live = false;
        auth::Identity identity;
        std::string device_id;
        int64_t cut_mono = INT64_MAX;  // monotonic ms of the cut at exp + leeway
        int64_t warn_mono = INT64_MAX; // monotonic ms of auth:expiring
    };
    using Handler = void (Hub::*)(sio::SocketId, Sock&, const sio::Event&);
    struct Route {
        std::string_view name;
        Handler handler;
        bool admin;
    };

    Sock* sock(sio::SocketId s);
    auth::VerifyResult verify(std::string_view token) const;
    void schedule_expiry(sio::SocketId s, Sock& k);
    static void expiry_cb(void* ctx, uint64_t arg, int64_t now);
    void reply_ok(sio::SocketId s, const sio::Event& e, std::string_view fields_json);
    void reply_error(sio::SocketId s, const sio::Event& e, ErrorCode code, std::string_view message);
    void cut(sio::SocketId s, std::string_view code, std::string_view message);

    void on_auth_refresh(sio::SocketId s, Sock& k, const sio::Event& e);

    static const Route kRoutes[];

    settings::Settings settings_;
    sio::SocketLayer* layer_ = nullptr;
    const auth::KeySet* keys_ = nullptr;
    std::vector<Sock> socks_;
    uint64_t sockets_ = 0;
    HubStats stats_;
};

} // namespace outpost::hub
