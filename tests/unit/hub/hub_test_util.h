// hub_test_util.h - A real Hub + SocketLayer over a fake transport, for the hub's unit tests.
// Owns: FakeTransport (per-session record of sent frames and closes, fake clocks and timers),
// Rig (settings, keys, token minting, connect/emit/close helpers) and a small JSON reader.
// Never: sleeps; time only moves through FakeTransport::advance().
#pragma once

#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/keys.h"
#include "auth/mint.h"
#include "hub/hub.h"
#include "platform/platform.h"
#include "sio/socket_layer.h"
#include "store/store.h"

namespace outpost::hub::test {

using net::SessionId;
using proto::EioPacket;
using proto::EioType;

// ---------------------------------------------------------------- JSON reading

// A read-only view into a parsed document that keeps the document alive.
class Json {
public:
    Json() = default;
    static Json parse(std::string_view text) {
        Json j;
        j.doc_ = std::shared_ptr<cJSON>(cJSON_ParseWithLength(text.data(), text.size()), cJSON_Delete);
        j.node_ = j.doc_.get();
        return j;
    }
    bool valid() const { return node_ != nullptr; }
    bool has(const char* key) const { return node_ && cJSON_GetObjectItemCaseSensitive(node_, key); }
    Json operator[](const char* key) const { return child(node_ ? cJSON_GetObjectItemCaseSensitive(node_, key) : nullptr); }
    Json operator[](int i) const { return child(node_ ? cJSON_GetArrayItem(node_, i) : nullptr); }
    int size() const { return node_ ? cJSON_GetArraySize(node_) : -1; }
    bool is_null() const { return cJSON_IsNull(node_); }
    bool is_true() const { return cJSON_IsTrue(node_); }
    bool is_false() const { return cJSON_IsFalse(node_); }
    bool is_number() const { return cJSON_IsNumber(node_); }
    std::string str() const { return cJSON_IsString(node_) ? node_->valuestring : "<not a string: " + dump() + ">"; }
    double num() const { return cJSON_IsNumber(node_) ? node_->valuedouble : -999999; }
    std::string dump() const {
        if (!node_) return "<missing>";
        char* t = cJSON_PrintUnformatted(node_);
        std::string s = t ? t : "";
        cJSON_free(t);
        return s;
    }

private:
    Json child(const cJSON* n) const {
        Json j;
        j.doc_ = doc_;
        j.node_ = n;
        return j;
    }
    std::shared_ptr<cJSON> doc_;
    const cJSON* node_ = nullptr;
};

// ---------------------------------------------------------------- transport

class FakeTransport final : public net::Transport {
public:
    bool send(SessionId id, const pool::FrameRef& f, bool bypass) override {
        ++sends;
        if (!record) { // the allocation test: nothing may allocate here
            if (sink && sink->size() < sink->capacity()) sink->push_back(f);
            return true;
        }
        if (!bypass && (full.count(id.index) || f->len > max_frame_bytes)) return false;
        sent[id.index].emplace_back(f->binary ? "<bin>" + std::string(f->view()) : std::string(f->view()));
        return true;
    }
    void close(SessionId id, std::string_view reason, bool) override { closed[id.index] = std::string(reason); }
    bool alive(SessionId id) const override { return !closed.count(id.index); }
    size_t queued_bytes(SessionId) const override { return 0; }
    int eio_version(SessionId) const override { return 4; }
    core::Timers& timers() override { return timers_; }
    int64_t now_ms() const override { return now; }
    int64_t wall_ms() const override { return wall_offset + now; }
    const net::EngineStats& stats() const override { return stats_; }
    void http_reply(uint64_t, const net::HttpResponse&) override {}

    void advance(int64_t ms) {
        now += ms;
        timers_.run_due(now);
    }

    bool record = true;
    std::vector<pool::FrameRef>* sink = nullptr; // with !record: keeps references up to its capacity
    uint64_t sends = 0;
    std::map<uint32_t, std::vector<std::string>> sent; // session index -> frames, in order
    std::map<uint32_t, std::string> closed;            // session index -> close reason
    std::map<uint32_t, bool> full;                     // sessions whose queue refuses frames
    size_t max_frame_bytes = SIZE_MAX;                 // like max_send_queue_bytes with an empty queue
    int64_t now = 1000;
    int64_t wall_offset = platform::wall_ms() - 1000; // the wall clock moves with `now`

private:
    core::Timers timers_;
    net::EngineStats stats_;
};

// ---------------------------------------------------------------- frames

// A decoded "42[...]" (event) or "43<id>[...]" (ack) frame for namespace "/".
struct Packet {
    char type = 0;       // '2' event, '3' ack, '0' connect, '1' disconnect, '4' connect error
    int64_t id = -1;
    Json args;           // the JSON array (event: name first)
    std::string raw;
};

inline Packet decode(const std::string& frame) {
    Packet p;
    p.raw = frame;
    if (frame.size() < 2 || frame[0] != '4') return p;
    p.type = frame[1];
    size_t i = 2;
    if (i < frame.size() && frame[i] >= '0' && frame[i] <= '9') {
        size_t j = i;
        while (j < frame.size() && frame[j] >= '0' && frame[j] <= '9') ++j;
        p.id = std::strtoll(frame.substr(i, j - i).c_str(), nullptr, 10);
        i = j;
    }
    if (i < frame.size()) p.args = Json::parse(std::string_view(frame).substr(i));
    return p;
}

// ---------------------------------------------------------------- the rig

constexpr std::string_view kSecret = "unit-test-secret-unit-test-secret-0123456789";

struct TokenOpts {
    bool admin = false;
    std::string name;
    bool has_rooms = false;
    std::vector<std::string> rooms;
    int64_t ttl_s = 3600;
};

inline TokenOpts as_admin() {
    TokenOpts o;
    o.admin = true;
    return o;
}
inline TokenOpts named(std::string name) {
    TokenOpts o;
    o.name = std::move(name);
    return o;
}
inline TokenOpts with_rooms(std::vector<std::string> rooms) {
    TokenOpts o;
    o.has_rooms = true;
    o.rooms = std::move(rooms);
    return o;
}

class Rig;

// One connected (or refused) client socket.
struct Client {
    Rig* rig = nullptr;
    sio::SocketId id;
    std::string user;

    uint32_t index() const { return id.session.index; }
    // Sends the Socket.IO event `array_json` (e.g. R"(["typing",{...}])"), asking for an ack when ack >= 0.
    void emit(std::string_view array_json, int64_t ack = -1) const;
    void emit_binary(std::string_view array_json, std::string_view attachment, int64_t ack = -1) const;
    // The Engine.IO transport went away (browser closed, network lost).
    void close() const;
    const std::vector<std::string>& frames() const;
    void clear() const;
    // The answer to ack `ack_id` (its first argument); invalid Json when none was sent.
    Json ack(int64_t ack_id) const;
    // Payloads (first argument) of every received event named `name`, in order.
    std::vector<Json> events(std::string_view name) const;
    // Every received event name in order (acks excluded).
    std::vector<std::string> event_names() const;
    bool closed() const;
};

class Rig {
public:
    explicit Rig(size_t max_sessions = 64) : max_(max_sessions), keys_(auth::KeySet::hs256(kSecret)) {
        // Generous limits: only the rate-limit tests use the defaults.
        settings.rate_limits.typing = {1000, 1000};
        settings.rate_limits.room = {1000, 1000};
        settings.rate_limits.presence = {1000, 1000};
        settings.rate_limits.message = {1000, 1000};
        settings.rate_limits.default_ = {1000, 1000};
    }

    // Builds the hub and the layer from `settings` (call once, after adjusting settings).
    void start(store::Store* st = nullptr) {
        hub = std::make_unique<Hub>(settings, max_);
        layer = std::make_unique<sio::SocketLayer>(t, *hub, max_, 5000);
        hub->attach(layer.get(), st);
        hub->set_keys(&keys_);
        store_ = st;
    }

    std::string token(const std::string& user, const TokenOpts& o = {}) const {
        auth::MintRequest req;
        req.sub = user;
        req.ttl_s = o.ttl_s;
        req.admin = o.admin;
        req.name = o.name;
        req.has_rooms = o.has_rooms;
        req.rooms = o.rooms;
        Result<std::string> r = auth::mint_hs256(kSecret, req, t.wall_ms() / 1000);
        EXPECT_TRUE(r.ok());
        return r.ok() ? *r : std::string();
    }

    // Opens a session and sends CONNECT for "/" with {"token":..,"deviceId":..}.
    Client connect_raw(const std::string& user, const std::string& connect_payload) {
        if (!hub) start();
        Client c{this, sio::SocketId{SessionId{next_index_++, 7}, 0}, user};
        net::OpenInfo info;
        layer->on_open(c.id.session, info);
        layer->on_message(c.id.session, EioPacket{EioType::message, false, "0" + connect_payload});
        return c;
    }
    Client connect(const std::string& user, const TokenOpts& o = {}, const std::string& device = "") {
        std::string payload = "{\"token\":\"" + token(user, o) + "\"";
        if (!device.empty()) payload += ",\"deviceId\":\"" + device + "\"";
        payload += "}";
        Client c = connect_raw(user, payload);
        EXPECT_TRUE(layer->connected(c.id)) << "connect of " << user << " failed";
        return c;
    }
    // Joins `room` from `c` and checks the ack (completing it through the store when there is one).
    void join(const Client& c, const std::string& room) {
        c.emit("[\"room:join\",{\"room\":\"" + room + "\"}]", 900);
        settle();
        Json a = c.ack(900);
        EXPECT_TRUE(a["ok"].is_true()) << a.dump();
    }
    // Completes whatever the store has committed.
    void settle() {
        if (!store_) return;
        store_->flush();
        hub->on_store_ready();
    }
    void clear_all() { t.sent.clear(); }

    settings::Settings settings;
    FakeTransport t;
    std::unique_ptr<Hub> hub;
    std::unique_ptr<sio::SocketLayer> layer;

private:
    size_t max_;
    uint32_t next_index_ = 0;
    auth::KeySet keys_;
    store::Store* store_ = nullptr;
};

inline void Client::emit(std::string_view array_json, int64_t ack) const {
    std::string pkt = "2" + (ack >= 0 ? std::to_string(ack) : std::string()) + std::string(array_json);
    rig->layer->on_message(id.session, EioPacket{EioType::message, false, pkt});
}
inline void Client::emit_binary(std::string_view array_json, std::string_view attachment, int64_t ack) const {
    std::string pkt = "51-" + (ack >= 0 ? std::to_string(ack) : std::string()) + std::string(array_json);
    rig->layer->on_message(id.session, EioPacket{EioType::message, false, pkt});
    rig->layer->on_message(id.session, EioPacket{EioType::message, true, attachment});
}
inline void Client::close() const { rig->layer->on_close(id.session, "transport close"); }
inline const std::vector<std::string>& Client::frames() const { return rig->t.sent[index()]; }
inline void Client::clear() const { rig->t.sent[index()].clear(); }
inline bool Client::closed() const { return rig->t.closed.count(index()) != 0; }
inline Json Client::ack(int64_t ack_id) const {
    for (const std::string& f : frames()) {
        Packet p = decode(f);
        if (p.type == '3' && p.id == ack_id) return p.args[0];
    }
    return Json();
}
inline std::vector<Json> Client::events(std::string_view name) const {
    std::vector<Json> out;
    for (const std::string& f : frames()) {
        Packet p = decode(f);
        if (p.type == '2' && p.args[0].str() == name) out.push_back(p.args[1]);
    }
    return out;
}
inline std::vector<std::string> Client::event_names() const {
    std::vector<std::string> out;
    for (const std::string& f : frames()) {
        Packet p = decode(f);
        if (p.type == '2') out.push_back(p.args[0].str());
    }
    return out;
}

// A temporary directory removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/outpost-hub-XXXXXX";
        const char* p = mkdtemp(tmpl);
        path = p ? p : "";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

} // namespace outpost::hub::test
