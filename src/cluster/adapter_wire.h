// adapter_wire.h - The messages @socket.io/redis-adapter 8.3 puts on Redis, as C++ structs, and
// their exact bytes both ways.
// Owns: channel names, the broadcast message [uid, packet, {rooms, except, flags}] (msgpack),
// the request types 0-9 and their answers (JSON, except the type 7 request and the type 9
// answer, which are msgpack), with the keys in the order the adapter's JS objects have them.
// Never: talks to Redis, decides what a message means for a room or a socket, or knows the OS.
//
// What the adapter does (lib/index.ts at 8.3.0, read from its dist/index.js):
// - Channels, for prefix P (option `key`, default "socket.io") and namespace N ("/"):
//   broadcasts on "P#N#" and, when a broadcast names exactly one room R, "P#N#R#" instead
//   (a receiver psubscribes "P#N#*" and skips a room channel for a room it does not have;
//   "42" matches a numeric room 42). Requests on "P-request#N#", answers on "P-response#N#"
//   (or "P-response#N#<uid>#" with publishOnSpecificResponseChannel; the type 6 answer always
//   goes to "P-response#N#"). Server count: PUBSUB NUMSUB "P-request#N#".
// - A request or answer is read as JSON when its first byte is '{', else as msgpack.
// - Requests 0/1/5 are ignored by their sender (it knows its requestId); requests 2/3/4 carry no
//   requestId, get no answer, and are applied by every server including the sender, which does
//   so only when its own request comes back from Redis; type 6 is ignored by the server whose
//   uid it carries; type 7 by the server that holds its requestId.
// - serverSideEmit with an ack and broadcast acks carry only the first argument of the callback.
// - The type 7 request's packet has no id (it is encoded before the local adapter numbers it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/msgpack.h"
#include "cluster/value_json.h" // json_to_value, value_to_json

namespace outpost::cluster::wire {

using msgpack::Value;

struct Channels {
    std::string broadcast; // "P#N#"
    std::string request;   // "P-request#N#"
    std::string response;  // "P-response#N#"
};
Channels channels(std::string_view prefix, std::string_view nsp);
// "P#N#R#"
std::string room_channel(std::string_view prefix, std::string_view nsp, std::string_view room);
// For a channel under "P#N#": the room it names ("" for the namespace channel itself); false
// when the channel is not under it or does not end in '#'.
bool room_of_channel(std::string_view broadcast_channel, std::string_view channel, std::string& room);

// socket.io 4.8's BroadcastFlags as the adapter copies them (every field may be absent).
struct Flags {
    std::optional<bool> is_volatile, compress, local, broadcast, binary, expect_single_response;
    std::optional<double> timeout; // ms, a JS number
    bool operator==(const Flags&) const = default;
};

// A Socket.IO packet object: {type, data, nsp, id?} (socket.io-parser's Packet).
struct Packet {
    int type = 2;             // 2 EVENT (binary events are type 2 too: the parser decides later)
    Value data = Value::array(); // [event, ...args]
    std::string nsp = "/";
    std::optional<uint64_t> id;
};

struct BroadcastOpts {
    std::vector<std::string> rooms;  // numeric rooms are kept in decimal
    std::vector<std::string> except;
    std::optional<Flags> flags;      // absent: the key is omitted (undefined in JS)
};

struct Broadcast {
    std::string uid; // the publishing server's uid (6 characters in the adapter)
    Packet packet;
    BroadcastOpts opts;
};

// The channel the adapter publishes this broadcast on.
std::string broadcast_channel(std::string_view prefix, const Broadcast& b);
std::string encode_broadcast(const Broadcast& b);
// False with `error` set when the bytes are not msgpack within `limits` or not the shape.
bool decode_broadcast(std::string_view bytes, const msgpack::Limits& limits, Broadcast& out, std::string& error);

enum class RequestType : uint8_t {
    sockets = 0,
    all_rooms = 1,
    remote_join = 2,
    remote_leave = 3,
    remote_disconnect = 4,
    remote_fetch = 5,
    server_side_emit = 6,
    broadcast = 7,
    broadcast_client_count = 8,
    broadcast_ack = 9,
};

struct RoomsExcept {
    std::vector<std::string> rooms, except;
};

// A request on "P-request#N#". Which fields are present depends on the type; encode writes the
// keys each type has in the adapter, in its order:
//   0 {uid, requestId, type, rooms}            (older adapters; 8.3 only answers it)
//   1 {uid, requestId, type}
//   2 {uid, type, opts:{rooms, except}, rooms} 3 the same
//   4 {uid, type, opts:{rooms, except}, close}
//   5 {uid, requestId, type, opts:{rooms, except}}
//   6 {uid, requestId?, type, data}            (requestId only when an ack is expected)
//   7 {uid, requestId, type, packet, opts:{rooms, except, flags}}  msgpack
// decode also reads the older single-socket form of 2/3/4 ({..., sid, room} with a requestId).
struct Request {
    RequestType type = RequestType::all_rooms;
    std::string uid;
    std::optional<std::string> request_id;
    RoomsExcept opts;                 // 2-5, 7 (rooms/except of the target)
    std::vector<std::string> rooms;   // 0: rooms to list; 2/3: rooms to join/leave
    std::optional<bool> close;        // 4
    std::optional<std::string> sid, room; // 2/3/4 older form
    Value data = Value::array();      // 6: [event, ...args]
    Packet packet;                    // 7
    std::optional<Flags> flags;       // 7
};

// One socket as a type 5 answer lists it: {id, handshake, rooms, data}.
struct RemoteSocket {
    std::string id;
    Value handshake = Value::map();
    std::vector<std::string> rooms;
    Value data = Value::nil();
};

// An answer on "P-response#N#":
//   0 {requestId, sockets:[sid...]}   1 {requestId, rooms}   2/3/4 older form {requestId}
//   5 {requestId, sockets:[RemoteSocket...]}   6 {type, requestId, data}
//   8 {type, requestId, clientCount}   9 {type, requestId, packet} msgpack
// Answers 0-5 carry no type: the requester knows it from its requestId (`answers` says which).
struct Response {
    RequestType answers = RequestType::all_rooms;
    std::string request_id;
    std::vector<std::string> sids;      // 0
    std::vector<std::string> rooms;     // 1
    std::vector<RemoteSocket> sockets;  // 5
    Value data = Value::nil();          // 6: the first ack argument; 9: the packet (ack argument)
    uint64_t client_count = 0;          // 8
};

// JSON for every type but 7 (and answer 9); msgpack for those. False, with `error`, only when
// a value inside (data, handshake) has no JSON form (a msgpack extension other than a Date).
bool encode_request(const Request& r, std::string& out, std::string& error);
bool encode_response(const Response& r, std::string& out, std::string& error);
// Reads JSON ('{' first) or msgpack as the adapter does. Requests name their type; answers do
// only for 6, 8 and 9: pass what the pending request with that id was (`pending`) so 0-5 read
// as that. Bounded by `limits` (bytes, depth, elements) for either syntax.
bool decode_request(std::string_view bytes, const msgpack::Limits& limits, Request& out, std::string& error);
// The requestId of an answer, to find the pending request before decode_response.
bool response_request_id(std::string_view bytes, const msgpack::Limits& limits, std::string& id, std::string& error);
bool decode_response(std::string_view bytes, const msgpack::Limits& limits, RequestType pending, Response& out,
                     std::string& error);

} // namespace outpost::cluster::wire
