// router.cpp - The event table of "/", its rate limits, and the §3 answers: ok, errors, cuts (see hub.h).
#include "hub/hub.h"

#include <cjson/cJSON.h>

#include <memory>

#include "core/cjson_ptr.h"
#include "core/log.h"
#include "hub/internal.h"
#include "proto/json.h"

namespace outpost::hub {

namespace {

// A field name fit for an error message: a NUL in it shows as \u0000.
std::string field_name(std::string_view key) {
    std::string out;
    for (char c : key) out += c ? std::string(1, c) : std::string("\\u0000");
    return out;
}

// cJSON ends a string at a NUL character ("a\u0000b" reads as "a"), so a name or an id holding
// one could pass for its prefix. Where one sits in an event array ["name", payload, ...]:
// "event" (the name), "payload", or the name of the payload member holding it; "" when none, or
// when it is only in message:send's first "body" member (`in_body_ok`: bodies keep it).
std::string nul_field(std::string_view raw, bool in_body_ok) {
    std::vector<proto::json::Span> items;
    if (!proto::json::elements(raw, items) || items.empty()) return "payload"; // cannot tell where: refuse
    if (items[0].nul) return "event";
    if (items.size() < 2 || !items[1].nul) return ""; // later arguments are not read
    std::vector<proto::json::Member> members;
    if (!proto::json::members(items[1].text, members)) return "payload";
    bool body_seen = false;
    for (const proto::json::Member& m : members) {
        bool body = in_body_ok && m.key == "body" && !body_seen;
        body_seen = body_seen || m.key == "body";
        if (m.key_nul || (m.value.nul && !body)) return field_name(m.key);
    }
    return "";
}

// ---- payload schemas (PROTOCOL.md §4-§9)
const Field kRoomFields[] = {{"room", FieldType::string, true, Rule::room_name}};
const Field kTypingFields[] = {{"room", FieldType::string, true, Rule::room_name}, {"active", FieldType::boolean, true}};
const Field kPresenceSetFields[] = {{"status", FieldType::string, true, Rule::one_of, 0, 0, kStatuses}};
const Field kPresenceGetFields[] = {{"userIds", FieldType::string_list, false, Rule::user_id, 1, int64_t(kMaxListItems)},
                                    {"room", FieldType::string, false, Rule::room_name}};
const Field kBroadcastFields[] = {{"message", FieldType::string, true, Rule::none, 1, 1000}};
const Field kDisconnectFields[] = {{"userId", FieldType::string, true, Rule::user_id},
                                   {"reason", FieldType::string, false, Rule::none, 0, 200}};
const Field kRefreshFields[] = {{"token", FieldType::string, true, Rule::none, 1, 16384}};
const Field kSendFields[] = {{"room", FieldType::string, false, Rule::room_name},
                             {"to", FieldType::string, false, Rule::user_id},
                             {"body", FieldType::any, true},
                             {"clientId", FieldType::string, true, Rule::client_id}};
constexpr int64_t kMaxSeq = int64_t(1) << 53;
const Field kSeqFields[] = {{"room", FieldType::string, true, Rule::room_name}, {"seq", FieldType::integer, true, Rule::none, 0, kMaxSeq}};
const Field kHistoryFields[] = {{"room", FieldType::string, true, Rule::room_name},
                                {"before", FieldType::integer, false, Rule::none, 0, kMaxSeq},
                                {"after", FieldType::integer, false, Rule::none, 0, kMaxSeq},
                                {"limit", FieldType::integer, false, Rule::none, 1, 100}};
const Schema kSendSchema{kSendFields, 4};
const Schema kSeqSchema{kSeqFields, 2};
const Schema kHistorySchema{kHistoryFields, 4};


const Schema kRoomSchema{kRoomFields, 1};
const Schema kTypingSchema{kTypingFields, 2};
const Schema kPresenceSetSchema{kPresenceSetFields, 1};
const Schema kPresenceGetSchema{kPresenceGetFields, 2};
const Schema kBroadcastSchema{kBroadcastFields, 1};
const Schema kDisconnectSchema{kDisconnectFields, 2};
const Schema kRefreshSchema{kRefreshFields, 1};
const Schema kEmptySchema{nullptr, 0};

} // namespace

const Hub::Route Hub::kRoutes[] = {
    {"room:join", &Hub::on_room_join, &kRoomSchema, RateClass::room, false},
    {"room:leave", &Hub::on_room_leave, &kRoomSchema, RateClass::room, false},
    {"room:members", &Hub::on_room_members, &kRoomSchema, RateClass::default_, false},
    {"presence:set", &Hub::on_presence_set, &kPresenceSetSchema, RateClass::presence, false},
    {"presence:get", &Hub::on_presence_get, &kPresenceGetSchema, RateClass::presence, false},
    {"typing", &Hub::on_typing, &kTypingSchema, RateClass::typing, false},
    {"message:send", &Hub::on_message_send, &kSendSchema, RateClass::message, false},
    {"message:delivered", &Hub::on_message_delivered, &kSeqSchema, RateClass::default_, false},
    {"message:read", &Hub::on_message_read, &kSeqSchema, RateClass::default_, false},
    {"history:get", &Hub::on_history_get, &kHistorySchema, RateClass::default_, false},
    {"auth:refresh", &Hub::on_auth_refresh, &kRefreshSchema, RateClass::default_, false},
    {"admin:broadcast", &Hub::on_admin_broadcast, &kBroadcastSchema, RateClass::default_, true},
    {"admin:disconnect", &Hub::on_admin_disconnect, &kDisconnectSchema, RateClass::default_, true},
    {"admin:stats", &Hub::on_admin_stats, &kEmptySchema, RateClass::default_, true},
};

std::string_view Hub::route_name(size_t i) {
    static_assert(sizeof(kRoutes) / sizeof(kRoutes[0]) == kRouteCount, "kRouteCount must match the table");
    return i < kRouteCount ? kRoutes[i].name : "unknown";
}

bool Hub::admit(sio::SocketId socket_id, Socket& socket, const sio::Event& event, RateClass rc) {
    int64_t now = clock_mono_ms(), retry = 0;
    if (socket.buckets[size_t(rc)].take(now, retry)) return true;
    ++stats_.rate_limited;
    int64_t oldest = socket.refusals[socket.refusal_next];
    socket.refusals[socket.refusal_next] = now;
    socket.refusal_next = (socket.refusal_next + 1) % kRefusalsBeforeCut;
    if (oldest && now - oldest < kRefusalWindowMs) {
        ++stats_.rate_limit_cuts;
        OUTPOST_LOG(info, "rate_limit_cut", "user=%s session=%u", socket.identity.user_id.c_str(), socket_id.session.index);
        cut(socket_id, "rate_limited", "too many requests after rate-limit refusals");
        return false;
    }
    reply_error(socket_id, event.ack_id, event.name, ErrorCode::rate_limited, "rate limit exceeded for this event class", retry);
    return false;
}

void Hub::on_event(sio::SocketId socket_id, const sio::Event& event) {
    Socket* socket = find_socket(socket_id);
    if (!socket) return;
    ++stats_.events_in;
    const Route* route = nullptr;
    for (const Route& r : kRoutes)
        if (r.name == event.name) route = &r;
    ++stats_.events_by_route[route ? size_t(route - kRoutes) : kRouteCount];
    if (!admit(socket_id, *socket, event, route ? route->rate : RateClass::default_)) return;
    if (proto::json::may_hold_nul(event.raw)) {
        std::string where = nul_field(event.raw, route && route->handler == &Hub::on_message_send);
        if (!where.empty())
            return reply_error(socket_id, event.ack_id, event.name, ErrorCode::invalid_payload,
                               where + ": holds a NUL character (\\u0000), not allowed in names and ids");
    }
    if (!route) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::unknown_event, "unknown event \"" + std::string(event.name) + "\"");
    if (route->admin && !socket->identity.admin) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::forbidden, "admin only");
    if (event.attachments) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::invalid_payload, "binary attachments are not accepted");
    int n = cJSON_GetArraySize(event.args);
    const cJSON* payload = n > 1 ? cJSON_GetArrayItem(event.args, 1) : nullptr;
    core::CJsonPtr empty;
    if (!payload) { // an event without arguments is checked as {}
        empty.reset(cJSON_CreateObject());
        payload = empty.get();
    }
    std::string why;
    if (!validate(*route->schema, payload, why)) return reply_error(socket_id, event.ack_id, event.name, ErrorCode::invalid_payload, why);
    (this->*route->handler)(socket_id, *socket, event, payload);
}

// ---------------------------------------------------------------- replies

pool::FrameRef Hub::frame(std::string_view event, std::string_view payload_json) const {
    return layer_->encode_event(0, wire::event(event, payload_json));
}

void Hub::reply_ok(sio::SocketId socket_id, int64_t ack_id, std::string_view fields_json) {
    if (ack_id < 0) return;
    if (!layer_->ack(socket_id, ack_id, wire::ok_ack(fields_json))) on_slow_consumer(socket_id); // an answer is never dropped silently
}

void Hub::reply_error(sio::SocketId socket_id, int64_t ack_id, std::string_view event, ErrorCode code, std::string_view message,
                      int64_t retry_after_ms) {
    ++stats_.errors_by_code[size_t(code)];
    send_error(socket_id, ack_id, event, error_code_name(code), message, retry_after_ms);
}

// The §3 failure shape: the ack {ok:false, error} when the client asked for one, else server:error.
void Hub::send_error(sio::SocketId socket_id, int64_t ack_id, std::string_view event, std::string_view code, std::string_view message,
                     int64_t retry_after_ms) {
    ++stats_.errors_out;
    bool sent = ack_id >= 0 ? layer_->ack(socket_id, ack_id, wire::error_ack(code, message, retry_after_ms))
                            : layer_->emit(socket_id, wire::server_error(code, message, retry_after_ms, &event));
    if (!sent) on_slow_consumer(socket_id); // an answer is never dropped silently
}

// PROTOCOL.md §13: server:error first (past the send-queue limit), then DISCONNECT, then close.
void Hub::cut(sio::SocketId socket_id, std::string_view code, std::string_view message) {
    layer_->emit(socket_id, wire::server_error(code, message, -1, nullptr), nullptr, nullptr, 0, 0, true);
    layer_->disconnect(socket_id, true);
}

} // namespace outpost::hub
