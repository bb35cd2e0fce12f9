// hub.h - The application behind namespace "/": users, rooms, presence, typing, messages.
// Owns: the Hub's state (sockets with their identity (JWT) and rate limits, users with their
// sockets and devices, rooms with their durable membership, requests waiting for the store) and
// its entry points (sio::App, SlowConsumerSink, the admin calls). The work is split by concern:
// router.cpp (event table, rate limits, replies), session.cpp (connect, expiry, refresh,
// disconnect, admin cuts), presence.cpp (presence and typing), rooms.cpp (membership and its
// limits), messages.cpp (message:send, publish, history), delivery.cpp (receipts, cursors, acks,
// sync), wire.h (the JSON shapes). Every broadcast goes through the Adapter.
// Never: touches lws or SQL directly, or encodes a broadcast once per recipient.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "core/slot_table.h"
#include "core/token_bucket.h"
#include "hub/adapter.h"
#include "hub/limits.h"
#include "hub/validate.h"
#include "hub/wire.h"
#include "settings/settings.h"
#include "sio/socket_layer.h"
#include "store/store.h"

namespace outpost::hub {


// Rate-limit classes of PROTOCOL.md §4.
enum class RateClass : uint8_t { typing, room, presence, message, default_, count };

constexpr size_t kRouteCount = 14;   // entries of Hub::kRoutes; one more slot counts unknown events

struct HubStats {
    uint64_t connects_ok = 0;
    uint64_t auth_failures[9] = {}; // by auth::AuthCode
    uint64_t events_in = 0;
    uint64_t events_by_route[kRouteCount + 1] = {}; // by Hub::route_name(i); the last is "unknown"
    uint64_t errors_out = 0;
    uint64_t errors_by_code[kErrorCodeCount] = {}; // by ErrorCode
    uint64_t expired_cuts = 0;
    uint64_t rate_limited = 0;      // refusals
    uint64_t rate_limit_cuts = 0;   // sockets cut for flooding
    uint64_t slow_consumer_cuts = 0;
    uint64_t admin_disconnects = 0;
    uint64_t messages_in = 0;       // messages stored and acked
    uint64_t messages_out = 0;      // message:new deliveries queued
    uint64_t ack_gaps = 0;          // acks of message:new that skipped lower messages (Hub::on_app_ack)
    uint64_t messages_resent = 0;   // message:new sent again for those
    uint64_t users_online = 0;
};

// How a publish ended: `status` ok with the stored message (`duplicate` when its clientId was
// already stored), or unavailable with `error` saying why.
struct PublishResult {
    Status status = Status::ok;
    std::string error;
    store::Message message;
    bool duplicate = false;
};
using PublishDone = std::function<void(const PublishResult&)>;

class Hub final : public sio::App, public SlowConsumerSink {
public:
    Hub(const settings::Settings& settings, size_t max_sessions);
    ~Hub() override;

    // Wiring (main.cpp): the layer to speak through, the store (may be null in tests), the keys.
    void attach(sio::SocketLayer* layer, store::Store* store);
    void set_keys(const auth::KeySet* keys) { keys_ = keys; }
    void set_settings(const settings::Settings& s);
    void set_stats_provider(std::function<std::string()> fn) { stats_json_ = std::move(fn); }
    // Loads durable memberships at start-up.
    Status load(std::string& error);
    // Drains the store's completions (call when the store woke the loop).
    void on_store_ready();

    // ---- sio::App
    int namespace_index(std::string_view path) const override { return path == "/" ? 0 : -1; }
    std::string_view namespace_name(uint8_t) const override { return "/"; }
    void on_connect(sio::SocketId socket_id, const sio::ConnectRequest& req) override;
    void on_event(sio::SocketId socket_id, const sio::Event& event) override;
    void on_disconnect(sio::SocketId socket_id, std::string_view reason) override;
    // ---- SlowConsumerSink
    void on_slow_consumer(sio::SocketId socket_id) override;
    void on_app_ack(sio::SocketId socket_id, const sio::AckTag& tag, const cJSON* args, const sio::AckTag* earlier, uint32_t n_earlier) override;

    // ---- for HTTP admin endpoints and stats
    void broadcast_maintenance(std::string_view message);
    // POST /api/rooms/<room>/messages: stores `body_json` as user "system" and calls `done` once
    // committed or refused (at once when no store is attached); the caller writes the answer.
    void publish(std::string_view room, std::string_view body_json, std::string_view client_id, PublishDone done);
    size_t disconnect_user(std::string_view user_id, std::string_view reason);
    uint64_t sockets() const { return socket_count_; }
    uint64_t users_online() const { return stats_.users_online; }
    size_t rooms() const { return live_rooms_; }
    const HubStats& stats() const { return stats_; }
    static std::string_view route_name(size_t i); // "unknown" past the table
    // The last disconnect reasons (newest last), for the dashboard.
    std::vector<std::string> recent_disconnects() const;
    Adapter& adapter() { return *adapter_; }

private:
    // A user's delivery cursors and receipts, loaded from the store on first use.
    struct Receipts {
        std::vector<std::pair<std::string, std::unordered_map<uint32_t, int64_t>>> cursors; // device -> room -> delivered
        std::unordered_map<uint32_t, std::pair<int64_t, int64_t>> highest; // room -> highest delivered, read
    };
    struct User {
        uint32_t uid = 0;
        std::string id, name;
        pool::SmallVec<sio::SocketId, 1> sockets;
        uint8_t status = 0;      // index in kStatuses: "online", "away", "busy"
        int64_t last_seen = 0;   // wall ms of the last disconnect; 0 while never seen offline
        bool online = false;     // announced with user:online and not yet user:offline
        uint32_t dm_rooms = 0;   // how many of `rooms` are direct rooms (dm:), for their own limit
        int64_t offline_due = 0; // monotonic ms when user:offline goes, 0 when not pending
        pool::SmallVec<uint32_t, 2> rooms; // room indices, durable memberships
        std::unique_ptr<Receipts> receipts; // made at the first sync with rooms or the first receipt
    };
    struct Room {
        uint32_t rid = 0;  // index in rooms_; reused once the room is reclaimed
        uint32_t gen = 0;  // bumped at each reuse of the index (room_key)
        bool live = false;
        std::string name;
        std::map<std::string_view, int64_t> members;   // User::id -> joined_seq, sorted bytewise
        std::vector<std::pair<uint32_t, int64_t>> typing; // uid -> expiry (monotonic ms)
        int64_t live_seq = 0; // highest seq fanned out (replays stop here, live traffic starts after)
    };
    struct Socket { // a slot of socket_table_, live from on_connect to on_disconnect
        auth::Identity identity;
        std::string device_id;
        uint32_t uid = 0;
        int64_t cut_mono = INT64_MAX;  // exp + leeway
        int64_t warn_mono = INT64_MAX; // auth:expiring
        core::TokenBucket buckets[size_t(RateClass::count)];
        int64_t refusals[kRefusalsBeforeCut] = {}; // times of the last rate-limit refusals (ring)
        uint32_t refusal_next = 0;
        // Per room (key), the highest seq this socket acknowledged that the device's cursor
        // cannot take yet because a lower message sent to this socket is unanswered (on_app_ack).
        std::vector<sio::AckTag> acked_ahead;
    };
    using Handler = void (Hub::*)(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    struct Route {
        std::string_view name;
        Handler handler;
        const Schema* schema;
        RateClass rate;
        bool admin;
    };
    // A request waiting for the store (room:join / room:leave / message:send, the direct-room
    // joins a DM makes, and the leave of a revoked room).
    struct Pending {
        enum Kind : uint8_t { join, leave, message, dm_join, revoke } kind;
        sio::SocketId socket;
        int64_t ack_id = -1;
        std::string room, user, event;
        PublishDone published = nullptr; // HTTP publish: called instead of answering a socket
    };

    // The hub's two clocks, both read through the transport (tests move them).
    int64_t clock_mono_ms() const;
    int64_t clock_wall_ms() const;
    Socket* find_socket(sio::SocketId socket_id);
    void reset_buckets(Socket& socket, int64_t now);
    bool read_credentials(sio::SocketId socket_id, const sio::ConnectRequest& req, std::string& token, std::string& device_id);
    void refuse_token(sio::SocketId socket_id, const sio::ConnectRequest& req, const auth::AuthError& error);
    size_t devices(const User& u); // distinct deviceIds among the user's sockets
    User& user(std::string_view id);
    Room& room(std::string_view name);
    Room* find_room(std::string_view name);
    // A room's index and generation in one ack-table key (sio::AckTag::key, typing timers): a key
    // kept past the room's reclamation finds nothing rather than the room that reused the slot.
    uint32_t room_key(const Room& r) const;
    Room* room_by_key(uint32_t key);
    bool rooms_full() const; // limits.max_rooms rooms are live: no new one
    void reclaim_if_empty(Room& r);
    bool is_member(const User& u, const Room& r) const;
    Room* member_room(sio::SocketId socket_id, const Socket& socket, const sio::Event& event, const cJSON* payload);
    auth::VerifyResult verify(std::string_view token) const;
    void schedule_expiry(sio::SocketId socket_id, Socket& socket);
    static void expiry_cb(void* ctx, uint64_t arg, int64_t now);
    static void offline_cb(void* ctx, uint64_t arg, int64_t now);
    static void typing_cb(void* ctx, uint64_t arg, int64_t now);
    bool admit(sio::SocketId socket_id, Socket& socket, const sio::Event& event, RateClass rc);
    void reply_ok(sio::SocketId socket_id, int64_t ack_id, std::string_view fields_json);
    void reply_error(sio::SocketId socket_id, int64_t ack_id, std::string_view event, ErrorCode code, std::string_view message,
                     int64_t retry_after_ms = -1);
    void send_error(sio::SocketId socket_id, int64_t ack_id, std::string_view event, std::string_view code, std::string_view message,
                    int64_t retry_after_ms = -1);
    void cut(sio::SocketId socket_id, std::string_view code, std::string_view message);
    pool::FrameRef frame(std::string_view event, std::string_view payload_json) const;
    void presence_broadcast(const User& u, const pool::FrameRef& f, bool include_own);
    void user_came(User& u, sio::SocketId socket_id, const Socket& socket);
    void user_left(User& u, sio::SocketId socket_id);
    void stop_typing(Room& r, uint32_t uid, bool notify);
    void add_member(User& u, Room& r, int64_t joined_seq);
    void remove_member(User& u, Room& r);
    std::string joined_fields(const Room& r) const;
    void complete(store::Completion&& c);
    void complete_message(const Pending& payload, const store::Completion& c);
    void fan_out(Room& r, const store::Message& m, sio::SocketId except);
    Receipts& receipts(User& u);
    std::unordered_map<uint32_t, int64_t>& device_cursors(User& u, std::string_view device);
    int64_t cursor_of(User& u, std::string_view device, const Room& r);
    void confirm(sio::SocketId socket_id, Socket& socket, Room& r, int64_t seq, bool read);
    void resend_skipped(sio::SocketId socket_id, Socket& socket, Room& r, int64_t acked, const sio::AckTag* earlier, uint32_t n_earlier,
                        sio::AckTable& acks);
    void sync(sio::SocketId socket_id, Socket& socket, User& u);
    void ensure_dm_member(User& u, Room& r);
    // Joins submitted and not yet completed count against the limits like committed ones.
    bool joining(const User& u, const Room& r) const;
    void join_begin(const User& u, const Room& r);
    void join_end(std::string_view user, std::string_view room);
    size_t rooms_held(const User& u, bool dm) const;   // memberships + pending joins, dm: rooms or the others
    size_t members_held(const Room& r) const;          // members + pending joins
    void revoke_rooms(User& u, const Socket& socket);

    void on_auth_refresh(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_room_join(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_room_leave(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_room_members(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_presence_set(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_presence_get(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_typing(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_message_send(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_message_delivered(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_message_read(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_receipt(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload, bool read);
    void on_history_get(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_admin_broadcast(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_admin_disconnect(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);
    void on_admin_stats(sio::SocketId socket_id, Socket& socket, const sio::Event& event, const cJSON* payload);

    static const Route kRoutes[];

    settings::Settings settings_;
    sio::SocketLayer* layer_ = nullptr;
    store::Store* store_ = nullptr;
    std::unique_ptr<LocalAdapter> adapter_;
    const auth::KeySet* keys_ = nullptr;
    std::function<std::string()> stats_json_;
    core::SlotTable<Socket> socket_table_; // mirrors the transport's session slots
    std::deque<User> users_;
    std::unordered_map<std::string_view, uint32_t> user_index_; // keys: User::id (users_ never moves one)
    std::deque<Room> rooms_;             // slots; the free ones are listed in free_rooms_
    std::vector<uint32_t> free_rooms_;
    size_t live_rooms_ = 0;
    std::unordered_map<std::string, uint32_t> room_index_;
    std::vector<sio::SocketId> admins_;
    std::deque<std::string> recent_disconnects_;
    std::unordered_map<uint64_t, Pending> pending_;
    struct Joining {
        std::unordered_map<uint64_t, uint32_t> pairs;   // (uid << 32 | rid) -> requests in flight
        std::unordered_map<uint64_t, uint32_t> by_user; // uid * 2 + is_dm -> distinct rooms in flight
        std::unordered_map<uint32_t, uint32_t> by_room; // rid -> distinct users in flight
    } joining_;
    uint64_t next_token_ = 1;
    uint64_t loaded_opens_ = 0; // store_->opens() when memberships were last loaded
    int64_t auth_log_window_ = 0;   // auth_refused log lines: the current one-second window,
    uint32_t auth_log_lines_ = 0;   // the lines written in it,
    uint64_t auth_log_skipped_ = 0; // and those left out since the last line written
    uint64_t socket_count_ = 0;
    HubStats stats_;
};

} // namespace outpost::hub
