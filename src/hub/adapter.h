// adapter.h - Where every broadcast goes: the Adapter interface and the local (in-process) one.
// Owns: room -> sockets subscriptions (like Socket.IO's in-memory adapter) and delivery of one
// pre-encoded frame to many sockets. A Redis adapter speaking @socket.io/redis-adapter's format
// will implement the same interface and deliver locally through LocalAdapter.
// Never: encodes packets per recipient or allocates per recipient (a frame sent with an ack tag
// goes into each recipient's ack table, which only allocates when it grows, up to its bound).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pool/frame.h"
#include "pool/small_vec.h"
#include "sio/socket_layer.h"

namespace outpost::hub {

// The sockets of one room: most rooms are a user's own ("user:<id>") with one socket.
using SocketList = pool::SmallVec<sio::SocketId, 1>;

// Called for sockets whose send queue refused the frame (slow consumers), after the loop.
class SlowConsumerSink {
public:
    virtual ~SlowConsumerSink() = default;
    virtual void on_slow_consumer(sio::SocketId s) = 0;
};

class Adapter {
public:
    virtual ~Adapter() = default;
    virtual void join(std::string_view room, sio::SocketId s) = 0;
    virtual void leave(std::string_view room, sio::SocketId s) = 0;
    virtual void leave_all(sio::SocketId s, const std::vector<std::string>& rooms) = 0;
    // Delivers `frame` to every socket in `room` except `except` (pass a default SocketId for none)
    // and except every socket of `except_room` (e.g. "user:<id>" to skip a user's own sockets).
    // With `ack`, each socket the frame reached holds it in its ack table (SocketLayer::send_frame).
    virtual void to_room(std::string_view room, const pool::FrameRef& frame, sio::SocketId except = {},
                         std::string_view except_room = {}, const sio::AckTag* ack = nullptr) = 0;
    virtual void to_all(const pool::FrameRef& frame, std::string_view except_room = {}) = 0;
    virtual size_t room_size(std::string_view room) const = 0;
    virtual size_t rooms() const = 0;
};

class LocalAdapter final : public Adapter {
public:
    LocalAdapter(sio::SocketLayer& layer, SlowConsumerSink& slow) : layer_(layer), slow_(slow) {}

    void join(std::string_view room, sio::SocketId s) override;
    void leave(std::string_view room, sio::SocketId s) override;
    void leave_all(sio::SocketId s, const std::vector<std::string>& rooms) override;
    void to_room(std::string_view room, const pool::FrameRef& frame, sio::SocketId except = {},
                 std::string_view except_room = {}, const sio::AckTag* ack = nullptr) override;
    void to_all(const pool::FrameRef& frame, std::string_view except_room = {}) override;
    size_t room_size(std::string_view room) const override;
    size_t rooms() const override { return rooms_.size(); }
    // Sockets of a room (for presence and admin), read-only.
    const SocketList* sockets(std::string_view room) const;

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    void deliver(sio::SocketId s, const pool::FrameRef& frame, const sio::AckTag* ack = nullptr);
    void flush_slow();

    sio::SocketLayer& layer_;
    SlowConsumerSink& slow_;
    std::unordered_map<std::string, SocketList, Hash, std::equal_to<>> rooms_;
    std::vector<sio::SocketId> all_;
    std::vector<sio::SocketId> slow_list_; // kept between calls: no allocation in steady state
};

} // namespace outpost::hub
