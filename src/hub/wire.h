// wire.h - The JSON the hub sends (PROTOCOL.md §3-§13): error codes and the text of its shapes.
// Owns: the names of the wire error codes, the quoting of strings, and the message object shared
// by message:new, replays and history:get.
// Never: sends anything, or reads state beyond its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.h"

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
constexpr size_t kErrorCodeCount = 9;
std::string_view error_code_name(ErrorCode c);

namespace wire {

// `text` as a JSON string, quotes included, escaped as cJSON escapes.
std::string quoted(std::string_view text);
// The message object of message:new, replays and history:get.
std::string message(const store::Message& m);
// The members of a stored message's answer (message:send's ack and the HTTP publish), without
// braces: "id":"..","room":..,"seq":..,"ts":..,"duplicate":..
std::string stored_fields(const store::Message& m, bool duplicate);
// The ack of a refused request: [{"ok":false,"error":{"code","message"[,"retryAfterMs"]}}]
std::string error_ack(std::string_view code, std::string_view message, int64_t retry_after_ms);
// ["server:error",{"code","message"[,"retryAfterMs"][,"event"]}]: "event" names the refused
// event when there is one (a cut says none).
std::string server_error(std::string_view code, std::string_view message, int64_t retry_after_ms, const std::string_view* event);
// {"room","userId"}: room:member_joined, room:member_left
std::string room_user(std::string_view room, std::string_view user_id);
// {"room","userId","active"}: user:typing
std::string typing(std::string_view room, std::string_view user_id, bool active);
// ["sync:gap",{"room","fromSeq","toSeq"}]
std::string sync_gap(std::string_view room, int64_t from_seq, int64_t to_seq);
// ["<event>",<payload_json>]
std::string event(std::string_view name, std::string_view payload_json);

} // namespace wire
} // namespace outpost::hub
