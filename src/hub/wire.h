// wire.h - The JSON the hub sends (PROTOCOL.md §3-§13): error codes and the text of its shapes.
// Owns: the names of the wire error codes, the quoting of strings, the message object shared
// by message:new, replays and history:get, and every other event, answer and refusal the hub
// writes, each built by core::JsonWriter.
// "Fields" functions return members without braces: what reply_ok puts after "ok":true.
// Never: sends anything, or reads state beyond its arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
// [{"ok":true[,<fields>]}]: the ack of a request done; `fields` are members without braces.
std::string ok_ack(std::string_view fields);

// ---- events
// ["message:new",<message>]
std::string message_new(const store::Message& m);
// {"room","userId","seq","status":"read"|"delivered","ts"}: message:status
std::string message_status(std::string_view room, std::string_view user_id, int64_t seq, bool read, int64_t ts);
// ["sync:complete",{"rooms":{"<room>":<latest seq>,...}}], rooms in the order given
std::string sync_complete(const std::vector<std::pair<std::string_view, int64_t>>& rooms);
// {"userId","name","ts"}: user:online; an empty name is null
std::string user_online(std::string_view user_id, std::string_view name, int64_t ts);
// {"userId","ts","lastSeen"}: user:offline
std::string user_offline(std::string_view user_id, int64_t ts, int64_t last_seen);
// {"userId","status","ts"}: presence:update
std::string presence_update(std::string_view user_id, std::string_view status, int64_t ts);
// {"room"}: room:revoked
std::string room_revoked(std::string_view room);
// ["auth:expiring",{"expiresInMs"}]
std::string auth_expiring(int64_t expires_in_ms);
// {"message","ts"}: system:maintenance
std::string maintenance(std::string_view message, int64_t ts);
// The connection:established event (PROTOCOL.md §4).
struct Established {
    std::string_view user_id, sid, device_id;
    int64_t server_time, interval_ms, timeout_ms, max_payload, max_body;
};
// ["connection:established",{"userId","sid","deviceId","serverTime","recovered":false,
//  "heartbeat":{"intervalMs","timeoutMs"},"limits":{"maxPayload","maxBody"}}]
std::string established(const Established& e);
// {"message","data":{"code"}}: the CONNECT_ERROR payload of a refused connection
std::string refusal(std::string_view message, std::string_view code);

// ---- answer fields
// "room"
std::string room_fields(std::string_view room);
// "room","seq": message:delivered and message:read
std::string room_seq_fields(std::string_view room, int64_t seq);
// "room","seq","members":[ids],"membersTruncated": room:join
std::string joined_fields(std::string_view room, int64_t seq, const std::vector<std::string_view>& members, bool truncated);
// One member of room:members.
struct MemberState {
    std::string_view user_id;
    bool online;
    std::string_view status;
};
// "room","members":[{"userId","online","status"}]: room:members
std::string members_fields(std::string_view room, const std::vector<MemberState>& members);
// One user of presence:get.
struct PresenceState {
    std::string_view user_id;
    bool online;
    std::string_view status;
    int64_t last_seen; // 0: null
    uint64_t devices;
};
// "presence":[{"userId","online","status","lastSeen","devices"}]: presence:get
std::string presence_fields(const std::vector<PresenceState>& users);
// "status": presence:set
std::string status_fields(std::string_view status);
// "room","messages":[<message>...],"hasMore": history:get
std::string history_fields(std::string_view room, const std::vector<store::Message>& rows, bool has_more);
// "exp": auth:refresh (null when the token has none)
std::string exp_fields(std::optional<int64_t> exp);
// "userId","sockets": admin:disconnect
std::string disconnected_fields(std::string_view user_id, uint64_t sockets);

} // namespace wire
} // namespace outpost::hub
