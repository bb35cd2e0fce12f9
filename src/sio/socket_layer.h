// socket_layer.h - The Socket.IO namespace layer (protocol v5, and v4 for socket.io-client 2.x).
// Owns: CONNECT / CONNECT_ERROR / DISCONNECT per namespace, EVENT and ACK in both directions
// (server emits with an ack and a timeout), binary attachment reassembly (bounded in bytes and
// time), the connect timeout, and the number of refused CONNECTs a session may try.
// Never: knows what events mean (the App does) or touches lws (it speaks net::Transport).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/slot_table.h"
#include "net/engine.h"
#include "pool/frame.h"
#include "proto/sio.h"
#include "sio/ack_table.h"

struct cJSON;

namespace outpost::sio {

// One Socket.IO socket: an Engine.IO session plus a namespace index (given by the App).
struct SocketId {
    net::SessionId session;
    uint8_t nsp = 0;
    bool operator==(const SocketId&) const = default;
};

struct ConnectRequest {
    std::string_view nsp;           // "/" or "/custom"
    const cJSON* auth = nullptr;    // the CONNECT payload object, null when absent
    std::string_view auth_raw;      // its JSON text ("" when absent)
    std::string_view authorization; // the handshake's Authorization header
    std::string_view query_token;   // `token` from the handshake URL or the namespace query (v4)
    std::string_view remote_addr;
    int eio = 4;
    std::string_view query_device_id; // `deviceId` from the handshake URL (Engine.IO v3 only)
};

struct Event {
    std::string_view name;
    const cJSON* args = nullptr;     // the whole array, name first
    std::string_view raw;            // the array as received
    int64_t ack_id = -1;             // -1: the client wants no ack
    const std::vector<std::string>* attachments = nullptr; // binary events only
};

// Answers to a server-initiated emit-with-ack. `args` is null when the timeout fired first.
using AckFn = void (*)(void* ctx, SocketId s, uint64_t token, const cJSON* args);

class App {
public:
    virtual ~App() = default;
    // Index of a namespace path, or -1 when unknown ("Invalid namespace").
    virtual int namespace_index(std::string_view path) const = 0;
    virtual std::string_view namespace_name(uint8_t index) const = 0;
    // Must call accept() or refuse() (now or later).
    virtual void on_connect(SocketId s, const ConnectRequest& req) = 0;
    virtual void on_event(SocketId s, const Event& e) = 0;
    virtual void on_disconnect(SocketId s, std::string_view reason) = 0;
    // The recipient acknowledged a frame sent with an AckTag (see send_frame): `tag` as given.
    // `earlier` are the unanswered frames with the same key sent to this socket before it (at
    // most kMaxEarlierAcks; see AckTable::take), now out of the table: the recipient skipped them.
    virtual void on_app_ack(SocketId, const AckTag& /*tag*/, const cJSON* /*args*/, const AckTag* /*earlier*/,
                            uint32_t /*n_earlier*/) {}
};

struct LayerStats {
    uint64_t sockets_connected = 0;
    uint64_t connects_refused = 0;
    uint64_t malformed_packets = 0;
    uint64_t acks_timed_out = 0;
    uint64_t binary_cut = 0;       // sessions closed for an unfinished binary packet (bytes or time)
    uint64_t refusal_cut = 0;      // sessions closed after kMaxConnectRefusals refused CONNECTs
};

// A session whose CONNECTs were refused this many times is closed (issue 12: each refusal may
// cost a signature check; a client retries on a new session, within the per-IP connect rate).
constexpr uint32_t kMaxConnectRefusals = 3;

class SocketLayer final : public net::SessionHandler {
public:
    // A binary packet and its attachments together may hold at most `max_binary_bytes` (the
    // configured max_payload) and must be complete within `connect_timeout_ms`; over either the
    // session is closed.
    SocketLayer(net::Transport& transport, App& app, size_t max_sessions, int64_t connect_timeout_ms,
                size_t max_binary_bytes = 1000000);
    ~SocketLayer() override;

    // ---- net::SessionHandler
    void on_open(net::SessionId id, const net::OpenInfo& info) override;
    void on_message(net::SessionId id, const proto::EioPacket& packet) override;
    void on_close(net::SessionId id, std::string_view reason) override;

    // ---- for the App
    // Sends the CONNECT reply; returns the Socket.IO sid given to the socket.
    std::string accept(SocketId s);
    // Sends CONNECT_ERROR with `data_json` (an object such as {"message":..,"data":{..}}).
    // For a v4 (EIO3) client the session is closed afterwards, as socket.io-client 2.x expects.
    void refuse(SocketId s, std::string_view data_json);
    bool connected(SocketId s) const;
    // Emits an event; `array_json` is the JSON array ["name", args...]. With `ack`, the client's
    // answer (or a timeout after `timeout_ms`) reaches ack(ctx, s, token, args).
    bool emit(SocketId s, std::string_view array_json, AckFn ack = nullptr, void* ctx = nullptr,
              uint64_t token = 0, int64_t timeout_ms = 0, bool bypass_limit = false);
    // Emits with binary attachments (placeholders already in `array_json`).
    bool emit_binary(SocketId s, std::string_view array_json, const std::vector<std::string>& attachments);
    // Answers a client's ack request; `array_json` is the JSON array of answer arguments.
    bool ack(SocketId s, int64_t id, std::string_view array_json);
    bool ack_binary(SocketId s, int64_t id, std::string_view array_json, const std::vector<std::string>& attachments);
    // Sends DISCONNECT for the namespace and forgets the socket; closes the session when no
    // namespace is left (or always, with `close_session`).
    void disconnect(SocketId s, bool close_session = true);

    // An ack id for a frame the App encodes once for many recipients: every ack id the server
    // sends comes from one sequence in 1..2^31-1 (PROTOCOL.md §13), so it never clashes with the
    // ids of a socket's other acks in flight.
    uint32_t new_ack_id();
    // Encodes an event once for many recipients of the same namespace (see send_frame); with
    // `ack_id` >= 0 every recipient is asked to acknowledge it.
    pool::FrameRef encode_event(uint8_t nsp, std::string_view array_json, int64_t ack_id = -1) const;
    // Queues a pre-encoded frame; false when the socket is gone or its queue is full. With
    // `ack` (whose id is the one encoded in the frame; namespace "/" only) the socket's answer
    // reaches App::on_app_ack, while the socket's AckTable holds it.
    bool send_frame(SocketId s, const pool::FrameRef& frame, bool bypass_limit = false, const AckTag* ack = nullptr);
    // The AckTable of a connected "/" socket (nullptr otherwise), for the App to read what is
    // still unanswered (AckTable::lowest) and to note what it could not send again.
    AckTable* app_acks(SocketId s);
    static constexpr uint32_t kMaxEarlierAcks = 32;

    const LayerStats& stats() const { return stats_; }
    net::Transport& transport() { return transport_; }

private:
    struct PendingAck {
        int64_t id;
        int64_t deadline;
        uint8_t nsp;
        AckFn fn;
        void* ctx;
        uint64_t token;
    };
    struct Binary { // a binary packet waiting for its attachments
        bool active = false;
        proto::SioType type = proto::SioType::binary_event;
        uint8_t nsp = 0;
        int64_t id = -1;
        uint32_t expected = 0;
        size_t bytes = 0;     // the packet's text and the attachments received so far
        int64_t due = 0;      // when it must be complete
        std::string data;
        std::vector<std::string> parts;
    };
    struct State { // a slot of states_, live from on_open to on_close (the table keeps its generation)
        bool failed = false; // a protocol error: the session is closing, nothing more is read
        uint8_t eio = 4;
        uint32_t connected = 0; // bit per namespace index
        int64_t connect_due = 0; // while nothing is connected: when the session is closed
        uint32_t refusals = 0;   // CONNECTs refused (kMaxConnectRefusals)
        bool binary_timer = false;  // a binary_timeout_cb is scheduled for this session
        bool connect_timer = false; // a connect_timeout_cb is scheduled for this session
        std::string authorization, query_token, remote, device_id;
        std::vector<PendingAck> acks; // the layer's own emits with a callback
        AckTable app_acks;            // frames sent with an AckTag
        Binary binary;
    };

    State* state(net::SessionId id);
    void handle_packet(net::SessionId id, State& st, const proto::SioPacket& p, const std::vector<std::string>* parts);
    void on_connect_packet(net::SessionId id, State& st, const proto::SioPacket& p, uint8_t nsp_index, std::string_view query);
    void on_event_packet(net::SessionId id, State& st, const proto::SioPacket& p, uint8_t nsp, const std::vector<std::string>* parts);
    void on_ack_packet(net::SessionId id, State& st, const proto::SioPacket& p, uint8_t nsp);
    void protocol_error(net::SessionId id, const char* what);
    bool send_packet(SocketId s, const proto::SioPacket& p, bool bypass_limit = false);
    bool send_attachments(SocketId s, const std::vector<std::string>& attachments);
    void arm_connect_timeout(net::SessionId id, State& st);
    static void connect_timeout_cb(void* ctx, uint64_t arg, int64_t now);
    static void ack_timeout_cb(void* ctx, uint64_t arg, int64_t now);
    void start_binary(net::SessionId id, State& st, const proto::SioPacket& p, uint8_t nsp);
    static void binary_timeout_cb(void* ctx, uint64_t arg, int64_t now);
    void count_refusal(net::SessionId id, State& st);

    net::Transport& transport_;
    App& app_;
    core::SlotTable<State> states_; // mirrors the transport's session slots
    int64_t connect_timeout_ms_;
    size_t max_binary_bytes_;
    LayerStats stats_;
    std::string encoded_; // the packet being encoded (copied into its frame before sending)
    uint32_t last_ack_id_ = 0;
};

} // namespace outpost::sio
