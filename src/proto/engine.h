// engine.h - Engine.IO packet and polling-payload codecs, protocol v4 and v3.
// Owns: pure functions over byte strings. Returned views point into the input (or into the
// caller's scratch string for base64-decoded binary). Never: sockets, clocks, allocation
// beyond the output strings passed in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace outpost::proto {

enum class EioType : uint8_t { open = 0, close = 1, ping = 2, pong = 3, message = 4, upgrade = 5, noop = 6 };

// One Engine.IO packet. `data` is the text after the type character, or, when `binary` is
// set, the raw bytes of a binary message (type is then always `message`).
struct EioPacket {
    EioType type = EioType::message;
    bool binary = false;
    std::string_view data;
};

// Receives the packets of a polling payload in order. Returning anything but Status::ok stops
// decoding and that status is returned by the decoder. `packet.data` is valid only during the call.
class PacketSink {
public:
    virtual ~PacketSink() = default;
    virtual Status on_packet(const EioPacket& packet) = 0;
};

// A text packet as carried in one WebSocket text frame (v3 and v4): "<type digit><data>".
// Empty input, a type outside 0..6, or data that is not valid UTF-8 is Status::malformed.
// sio.h declares a decode_packet with the same parameter for Socket.IO; each sits in its own
// inline namespace, so `proto::decode_packet` works where one header is included, and a file
// that includes both says `proto::engine_io::decode_packet` / `proto::socket_io::decode_packet`.
inline namespace engine_io {
Result<EioPacket> decode_packet(std::string_view text);
} // namespace engine_io

// A WebSocket binary frame of protocol v3: first byte is the packet type as a raw byte (0..6),
// the rest is data; binary = true. (In v4 a binary frame is simply a binary message.)
Result<EioPacket> decode_v3_binary_frame(std::string_view frame);

// Appends "<type digit><data>" (text packets only).
void encode_packet(std::string& out, EioType type, std::string_view data);

// ---- Protocol v4 polling payloads: packets separated by '\x1e'; binary as 'b' + base64.
// Empty payload, empty part, or undecodable base64 -> Status::malformed.
Status decode_payload_v4(std::string_view body, PacketSink& sink, std::string& scratch);
// Appends one packet to a payload under construction (adds '\x1e' when `out` is not empty).
void append_payload_v4(std::string& out, const EioPacket& packet);

// ---- Protocol v3 polling payloads (engine.io-parser 2.x).
// Text form "<length>:<packet>" repeated, length in UTF-16 code units of the packet; a binary
// packet is "b<type digit><base64>" (what clients send with b64=1 or without binary support).
// Empty body, a length that is not 1..10 digits, a length that splits a surrogate pair or runs
// past the body, or invalid UTF-8 -> Status::malformed. A "0:" entry carries no packet.
// The encoder expects valid UTF-8 text data.
Status decode_payload_v3_text(std::string_view body, PacketSink& sink, std::string& scratch);
void append_payload_v3_text(std::string& out, const EioPacket& packet);
// Binary form (Content-Type application/octet-stream): per packet a marker byte 0 (string) or
// 1 (binary), the length as decimal digits each in its own byte (0..9), 0xFF, then the packet
// (string: "<type digit><data>" as UTF-8; binary: type byte then data). The length counts
// bytes for both kinds. Empty body, a marker other than 0/1, no or more than 10 length digits,
// a zero length or one past the end -> Status::malformed.
Status decode_payload_v3_binary(std::string_view body, PacketSink& sink);
void append_payload_v3_binary(std::string& out, const EioPacket& packet);

// Length of UTF-8 text in UTF-16 code units (4-byte sequences count 2). Invalid UTF-8 -> -1.
int64_t utf16_length(std::string_view utf8);

} // namespace outpost::proto
