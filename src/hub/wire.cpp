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

std::string message(const store::Message& m) {
    std::string out;
    core::JsonWriter w(out);
    w.begin_object().member("id", std::to_string(m.id)).member("room", m.room).member("seq", m.seq).member("from", m.sender);
    w.key("body");
    if (m.body.empty()) w.null();
    else w.raw(m.body);
    w.member("ts", m.ts).member("clientId", m.client_id).end_object();
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

} // namespace wire
} // namespace outpost::hub
