// conformance.h - The reference behaviour of PROTOCOL.md §11 for protocol test suites.
// Owns: namespaces "/" and "/custom" with no authentication, the `auth` echo of the CONNECT
// payload, `message` -> `message-back`, `message-with-ack` acked with its arguments, and the
// bare Engine.IO echo served at /engine.io/. Never: emits application events.
#pragma once

#include "net/engine.h"
#include "sio/socket_layer.h"

namespace outpost::hub {

class ConformanceApp final : public sio::App {
public:
    void attach(sio::SocketLayer* layer) { layer_ = layer; }
    int namespace_index(std::string_view path) const override;
    std::string_view namespace_name(uint8_t index) const override;
    void on_connect(sio::SocketId s, const sio::ConnectRequest& req) override;
    void on_event(sio::SocketId s, const sio::Event& e) override;
    void on_disconnect(sio::SocketId, std::string_view) override {}

private:
    sio::SocketLayer* layer_ = nullptr;
    std::string scratch_; // the echo being built, reused
};

// /engine.io/: every message goes back unchanged, text or binary.
class EngineEcho final : public net::SessionHandler {
public:
    explicit EngineEcho(net::Transport& t) : transport_(t) {}
    void on_open(net::SessionId, const net::OpenInfo&) override {}
    void on_message(net::SessionId id, const proto::EioPacket& p) override;
    void on_close(net::SessionId, std::string_view) override {}

private:
    net::Transport& transport_;
};

} // namespace outpost::hub
