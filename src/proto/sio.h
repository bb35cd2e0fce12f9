// sio.h - Socket.IO packet codec (protocol v5, and v4 as spoken by socket.io-client 2.x).
// Owns: the lexical form "<type>[<attachments>-][<nsp>,][<id>][<json>]" and placeholder
// checks for binary attachments. Never: knows sessions, namespaces' meaning or events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

struct cJSON;

namespace outpost::proto {

enum class SioType : uint8_t {
    connect = 0,
    disconnect = 1,
    event = 2,
    ack = 3,
    connect_error = 4,
    binary_event = 5,
    binary_ack = 6,
};

constexpr uint32_t kMaxAttachments = 10;
constexpr int64_t kMaxAckId = 9007199254740991; // 2^53-1, what JavaScript clients can hold

struct SioPacket {
    SioType type = SioType::event;
    std::string_view nsp = "/"; // includes a "?query" suffix when the sender put one (v4 clients)
    int64_t id = -1;            // -1: no ack id
    uint32_t attachments = 0;   // only for binary_event / binary_ack
    std::string_view data;      // raw JSON text (may be empty), not yet parsed
};

// Decodes the text of an Engine.IO message. Lexical checks only:
//  - type digit 0..6;
//  - binary types need "<n>-" with 1 <= n <= kMaxAttachments (more -> Status::too_large);
//    other types must not have it;
//  - nsp starts with '/' and ends at ',' (or at the end of the input);
//  - id: up to 16 digits, <= kMaxAckId; ack / binary_ack require one;
//  - data, when present, starts with '[' or '{' or '"' (JSON validity is checked by the caller).
// Anything else is Status::malformed.
// (In its own inline namespace: see decode_packet in engine.h.)
inline namespace socket_io {
Result<SioPacket> decode_packet(std::string_view text);
} // namespace socket_io

// Appends the encoding of `p` (nsp "/" is omitted; "<n>-" only for binary types).
void encode_packet(std::string& out, const SioPacket& p);

// Splits "/nsp?query" into path and query (query without '?', empty when absent).
void split_nsp(std::string_view nsp, std::string_view& path, std::string_view& query);

// Value of `key` in an URL query string ("a=1&token=x"), percent-decoded into `out`.
// Returns false when absent or when the escape sequences are bad.
bool query_param(std::string_view query, std::string_view key, std::string& out);

// Checks every `_placeholder` object in `root`: it must be exactly
// {"_placeholder":true,"num":k} with k an integer in [0, attachments); and the number of
// placeholders must equal `attachments` (each k once). Objects nested deeper than 64 levels,
// and anything else, are Status::malformed; attachments > kMaxAttachments is Status::too_large.
Status check_placeholders(const cJSON* root, uint32_t attachments);

} // namespace outpost::proto
