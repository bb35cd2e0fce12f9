// wire.cpp - The text of the JSON shapes the hub sends (see wire.h).
#include "hub/wire.h"

#include "core/json_writer.h"

namespace outpost::hub {

std::string_view error_code_name(ErrorCode c) {
    switch (c) {
    case ErrorCode::invalid_payload: return "invalid_payload";
    case ErrorCode::unknown_event: return "unknown_event";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_member: return "not_member";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::payload_too_large: return "payload_too_large";
    case ErrorCode::room_full: return "room_full";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
    }
    return "internal";
}

namespace wire {

std::string quoted(std::string_view text) {
    std::string out;
    core::json_append_string(out, text);
    return out;
}

namespace {
void write_message(core::JsonWriter& w, const store::Message& m) {
    w.begin_object().member("id", std::to_string(m.id)).member("room", m.room).member("seq", m.seq).member("from", m.sender);
    w.key("body");
    if (m.body.empty()) w.null();
    else w.raw(m.body);
    w.member("ts", m.ts).member("clientId", m.client_id).end_object();
}
} // namespace

std::string message(const store::Message& m) {
    std::string out;
    core::JsonWriter w(out);
    write_message(w, m);
    return out;
}

std::string stored_fields(const store::Message& m, bool duplicate) {
    std::string out;
    core::JsonWriter(out).member("id", std::to_string(m.id)).member("room", m.room).member("seq", m.seq).member("ts", m.ts).member(
        "duplicate", duplicate);
    return out;
}

namespace {
void error_members(core::JsonWriter& w, std::string_view code, std::string_view message, int64_t retry_after_ms) {
    w.member("code", code).member("message", message);
    if (retry_after_ms >= 0) w.member("retryAfterMs", retry_after_ms);
}
} // namespace

std::string error_ack(std::string_view code, std::string_view message, int64_t retry_after_ms) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().begin_object().member("ok", false).key("error").begin_object();
    error_members(w, code, message, retry_after_ms);
    w.end_object().end_object().end_array();
    return out;
}

std::string server_error(std::string_view code, std::string_view message, int64_t retry_after_ms, const std::string_view* event) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().string("server:error").begin_object();
    error_members(w, code, message, retry_after_ms);
    if (event) w.member("event", *event);
    w.end_object().end_array();
    return out;
}

std::string room_user(std::string_view room, std::string_view user_id) {
    std::string out;
    core::JsonWriter(out).begin_object().member("room", room).member("userId", user_id).end_object();
    return out;
}

std::string typing(std::string_view room, std::string_view user_id, bool active) {
    std::string out;
    core::JsonWriter(out).begin_object().member("room", room).member("userId", user_id).member("active", active).end_object();
    return out;
}

std::string sync_gap(std::string_view room, int64_t from_seq, int64_t to_seq) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().string("sync:gap").begin_object().member("room", room).member("fromSeq", from_seq).member("toSeq", to_seq);
    w.end_object().end_array();
    return out;
}

std::string event(std::string_view name, std::string_view payload_json) {
    std::string out;
    core::JsonWriter(out).begin_array().string(name).raw(payload_json).end_array();
    return out;
}

std::string ok_ack(std::string_view fields) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().begin_object().member("ok", true);
    if (!fields.empty()) w.raw(fields); // members written by a writer of their own: one ',' before them
    w.end_object().end_array();
    return out;
}

// ---------------------------------------------------------------- events

std::string message_new(const store::Message& m) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().string("message:new");
    write_message(w, m);
    w.end_array();
    return out;
}

std::string message_status(std::string_view room, std::string_view user_id, int64_t seq, bool read, int64_t ts) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_object().member("room", room).member("userId", user_id).member("seq", seq);
    w.member("status", std::string_view(read ? "read" : "delivered")).member("ts", ts).end_object();
    return out;
}

std::string sync_complete(const std::vector<std::pair<std::string_view, int64_t>>& rooms) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().string("sync:complete").begin_object().key("rooms").begin_object();
    for (const auto& [name, seq] : rooms) w.member(name, seq);
    w.end_object().end_object().end_array();
    return out;
}

std::string user_online(std::string_view user_id, std::string_view name, int64_t ts) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_object().member("userId", user_id).key("name");
    if (name.empty()) w.null();
    else w.string(name);
    w.member("ts", ts).end_object();
    return out;
}

std::string user_offline(std::string_view user_id, int64_t ts, int64_t last_seen) {
    std::string out;
    core::JsonWriter(out).begin_object().member("userId", user_id).member("ts", ts).member("lastSeen", last_seen).end_object();
    return out;
}

std::string presence_update(std::string_view user_id, std::string_view status, int64_t ts) {
    std::string out;
    core::JsonWriter(out).begin_object().member("userId", user_id).member("status", status).member("ts", ts).end_object();
    return out;
}

std::string room_revoked(std::string_view room) {
    std::string out;
    core::JsonWriter(out).begin_object().member("room", room).end_object();
    return out;
}

std::string auth_expiring(int64_t expires_in_ms) {
    std::string out;
    core::JsonWriter(out).begin_array().string("auth:expiring").begin_object().member("expiresInMs", expires_in_ms).end_object().end_array();
    return out;
}

std::string maintenance(std::string_view message, int64_t ts) {
    std::string out;
    core::JsonWriter(out).begin_object().member("message", message).member("ts", ts).end_object();
    return out;
}

std::string established(const Established& e) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_array().string("connection:established").begin_object();
    w.member("userId", e.user_id).member("sid", e.sid).member("deviceId", e.device_id).member("serverTime", e.server_time);
    w.member("recovered", false);
    w.key("heartbeat").begin_object().member("intervalMs", e.interval_ms).member("timeoutMs", e.timeout_ms).end_object();
    w.key("limits").begin_object().member("maxPayload", e.max_payload).member("maxBody", e.max_body).end_object();
    w.end_object().end_array();
    return out;
}

std::string refusal(std::string_view message, std::string_view code) {
    std::string out;
    core::JsonWriter(out).begin_object().member("message", message).key("data").begin_object().member("code", code).end_object().end_object();
    return out;
}

// ---------------------------------------------------------------- answer fields

std::string room_fields(std::string_view room) {
    std::string out;
    core::JsonWriter(out).member("room", room);
    return out;
}

std::string room_seq_fields(std::string_view room, int64_t seq) {
    std::string out;
    core::JsonWriter(out).member("room", room).member("seq", seq);
    return out;
}

std::string joined_fields(std::string_view room, int64_t seq, const std::vector<std::string_view>& members, bool truncated) {
    std::string out;
    core::JsonWriter w(out);
    w.member("room", room).member("seq", seq).key("members").begin_array();
    for (std::string_view id : members) w.string(id);
    w.end_array().member("membersTruncated", truncated);
    return out;
}

std::string members_fields(std::string_view room, const std::vector<MemberState>& members) {
    std::string out;
    core::JsonWriter w(out);
    w.member("room", room).key("members").begin_array();
    for (const MemberState& m : members)
        w.begin_object().member("userId", m.user_id).member("online", m.online).member("status", m.status).end_object();
    w.end_array();
    return out;
}

std::string presence_fields(const std::vector<PresenceState>& users) {
    std::string out;
    core::JsonWriter w(out);
    w.key("presence").begin_array();
    for (const PresenceState& p : users) {
        w.begin_object().member("userId", p.user_id).member("online", p.online).member("status", p.status).key("lastSeen");
        if (p.last_seen) w.number(p.last_seen);
        else w.null();
        w.member("devices", p.devices).end_object();
    }
    w.end_array();
    return out;
}

std::string status_fields(std::string_view status) {
    std::string out;
    core::JsonWriter(out).member("status", status);
    return out;
}

std::string history_fields(std::string_view room, const std::vector<store::Message>& rows, bool has_more) {
    std::string out;
    core::JsonWriter w(out);
    w.member("room", room).key("messages").begin_array();
    for (const store::Message& m : rows) write_message(w, m);
    w.end_array().member("hasMore", has_more);
    return out;
}

std::string exp_fields(std::optional<int64_t> exp) {
    std::string out;
    core::JsonWriter w(out);
    w.key("exp");
    if (exp) w.number(*exp);
    else w.null();
    return out;
}

std::string disconnected_fields(std::string_view user_id, uint64_t sockets) {
    std::string out;
    core::JsonWriter(out).member("userId", user_id).member("sockets", sockets);
    return out;
}

} // namespace wire
} // namespace outpost::hub
