// redis.h - What the cluster asks of Redis: commands with one reply each, and pub/sub.
// Owns: the contract between the cluster's users of Redis (the adapter, the message log,
// presence) and the client that talks RESP on the event loop (redis_client.h), so that the users
// can be tested against a fake. Never: parses RESP or touches a socket (redis_client.cpp does).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::cluster {

// One RESP2 reply, bounded by the client's limits (bytes, depth, elements).
struct RedisReply {
    enum class Type : uint8_t { status, error, integer, bulk, nil, array };
    Type type = Type::nil;
    int64_t integer = 0;
    std::string str; // status, error and bulk
    std::vector<RedisReply> elements;

    bool is_error() const { return type == Type::error; }
};

// Called exactly once per command, on the loop thread. `reply` is null when the command got no
// reply from Redis: not connected, the queue was full, `cluster.request_timeout_ms` passed, or
// the connection was lost with the command in flight (it may or may not have run); `why` then
// says which, for the `unavailable` error the caller answers with.
using ReplyFn = std::function<void(const RedisReply* reply, std::string_view why)>;

// A message on a channel the subscriber connection listens to (SUBSCRIBE or PSUBSCRIBE).
using MessageFn = std::function<void(std::string_view channel, std::string_view payload)>;
// Called with true each time both connections are ready (after a reconnect: the subscriptions
// are in place again), and with false when either is lost.
using StateFn = std::function<void(bool up)>;

struct RedisStats {
    uint64_t commands = 0;      // sent
    uint64_t failed = 0;        // completed with a null reply
    uint64_t connects = 0;      // successful (re)connections
    uint64_t messages_in = 0;   // pub/sub messages delivered to the MessageFn
    uint64_t queued = 0;        // commands waiting now (not yet sent or not yet answered)
};

class Redis {
public:
    virtual ~Redis() = default;
    // True while the command connection is ready and the subscriptions are in place.
    virtual bool up() const = 0;
    // Sends one command (argv as RESP bulk strings). Commands are answered in the order sent.
    virtual void command(std::vector<std::string> argv, ReplyFn done) = 0;
    // PUBLISH without a caller waiting (the adapter's broadcasts): counted, dropped when down.
    virtual void publish(std::string_view channel, std::string_view payload) = 0;
    // Channels and patterns of the subscriber connection; kept across reconnects.
    virtual void subscribe(std::string channel) = 0;
    virtual void psubscribe(std::string pattern) = 0;
    virtual void on_message(MessageFn fn) = 0;
    virtual void on_state(StateFn fn) = 0;
    virtual const RedisStats& stats() const = 0;
};

} // namespace outpost::cluster
