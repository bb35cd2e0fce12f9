// hub.cpp - Sockets, users, rooms, presence, typing and admin events on "/" (see hub.h).
#include "hub/hub.h"

#include <cjson/cJSON.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "auth/rooms.h"
#include "core/log.h"
#include "platform/platform.h"
#include "proto/json.h"

namespace outpost::hub {
namespace {

constexpr int64_t kTypingExpiryMs = 5000;
constexpr size_t kMaxMembersListed = 1000;
constexpr int64_t kRefusalWindowMs = 10000;
constexpr uint32_t kAuthLogPerSecond = 10;

std::string json_string(std::string_view s) {
    std::unique_ptr<cJSON, void (*)(cJSON*)> j(cJSON_CreateString(std::string(s).c_str()), cJSON_Delete);
    std::unique_ptr<char, void (*)(void*)> text(cJSON_PrintUnformatted(j.get()), cJSON_free);
    return text ? std::string(text.get()) : std::string("\"\"");
}

std::string_view bearer(std::string_view header) {
    constexpr std::string_view kPrefix = "Bearer ";
    if (header.size() > kPrefix.size() && header.substr(0, kPrefix.size()) == kPrefix) return header.substr(kPrefix.size());
    return {};
}

const char* str(const cJSON* obj, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : nullptr;
}

std::string user_room(std::string_view id) { return "user:" + std::string(id); }

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

// message:send's body as the client wrote it, compacted (PROTOCOL.md §6: stored and delivered
// byte for byte, never re-printed through doubles): the first "body" member of the payload.
bool body_text(std::string_view raw, std::string& body, std::string& why) {
    std::vector<proto::json::Span> items;
    std::vector<proto::json::Member> members;
    if (!proto::json::elements(raw, items) || items.size() < 2 || !proto::json::members(items[1].text, members)) {
        why = "body: the payload could not be read";
        return false;
    }
    for (const proto::json::Member& m : members) {
        if (m.key != "body") continue;
        if (proto::json::compact(m.value.text, body, why)) return true;
        why = "body: not valid JSON (" + why + ")";
        return false;
    }
    why = "body: required";
    return false;
}

// ---- payload schemas (PROTOCOL.md §4-§9)
const char* const kStatuses[] = {"online", "away", "busy", nullptr};

// Where `status` is in kStatuses (the schema has checked that it is there).
uint8_t status_index(const char* status) {
    for (uint8_t i = 0; status && kStatuses[i]; ++i)
        if (std::string_view(status) == kStatuses[i]) return i;
    return 0;
}
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


// A completion for when no store is attached (unit tests of the hub alone).
store::Completion done(uint64_t token) {
    store::Completion c;
    c.token = token;
    return c;
}

bool is_dm_room(std::string_view name) { return name.substr(0, 3) == "dm:"; }
uint64_t pair_key(uint32_t uid, uint32_t rid) { return uint64_t(uid) << 32 | rid; }

std::string dm_room(std::string_view a, std::string_view b) {
    return a < b ? "dm:" + std::string(a) + ":" + std::string(b) : "dm:" + std::string(b) + ":" + std::string(a);
}

int64_t int_field(const cJSON* obj, const char* key, int64_t fallback) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? int64_t(v->valuedouble) : fallback;
}
const Schema kRoomSchema{kRoomFields, 1};
const Schema kTypingSchema{kTypingFields, 2};
const Schema kPresenceSetSchema{kPresenceSetFields, 1};
const Schema kPresenceGetSchema{kPresenceGetFields, 2};
const Schema kBroadcastSchema{kBroadcastFields, 1};
const Schema kDisconnectSchema{kDisconnectFields, 2};
const Schema kRefreshSchema{kRefreshFields, 1};
const Schema kEmptySchema{nullptr, 0};

} // namespace

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

std::vector<std::string> Hub::recent_disconnects() const { return {recent_disconnects_.begin(), recent_disconnects_.end()}; }

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

Hub::Hub(const settings::Settings& settings, size_t max_sessions) : settings_(settings), socks_(max_sessions) {}
Hub::~Hub() = default;

void Hub::attach(sio::SocketLayer* layer, store::Store* store) {
    layer_ = layer;
    store_ = store;
    adapter_ = std::make_unique<LocalAdapter>(*layer, *this);
}

// SIGHUP: new limits apply to live sockets too (their buckets start full at the new burst).
void Hub::set_settings(const settings::Settings& s) {
    bool limits_changed = !(s.rate_limits == settings_.rate_limits);
    settings_ = s;
    if (!limits_changed || !layer_) return;
    int64_t now = layer_->transport().now_ms();
    const settings::RateLimits& rl = settings_.rate_limits;
    const settings::RateLimit* classes[] = {&rl.typing, &rl.room, &rl.presence, &rl.message, &rl.default_};
    for (Sock& k : socks_) {
        if (!k.live) continue;
        for (size_t i = 0; i < size_t(RateClass::count); ++i) k.buckets[i].reset(classes[i]->burst, classes[i]->per_ms, now);
    }
}

// At start-up, and again when a store that started unwritable opens its file: memberships, the
// rooms' seqs, and (reloaded on demand) the cursors.
Status Hub::load(std::string& error) {
    if (!store_) return Status::ok;
    loaded_opens_ = store_->opens();
    if (loaded_opens_ == 0) {
        OUTPOST_LOG(warn, "memberships_deferred", "reason=\"%s\"", store_->health().reason.c_str());
        return Status::ok;
    }
    Result<std::vector<store::Membership>> rows = store_->load_memberships();
    if (!rows.ok()) {
        error = rows.error().message;
        return rows.status();
    }
    for (const store::Membership& m : *rows) add_member(user(m.user), room(m.room), m.joined_seq);
    for (Room& r : rooms_) r.live_seq = std::max(r.live_seq, store_->latest_seq(r.name));
    for (User& u : users_) u.receipts.reset();
    OUTPOST_LOG(info, "memberships_loaded", "rooms=%zu memberships=%zu", rooms_.size(), rows->size());
    return Status::ok;
}

// ---------------------------------------------------------------- lookups

Hub::Sock* Hub::sock(sio::SocketId s) {
    if (s.session.index >= socks_.size()) return nullptr;
    Sock& k = socks_[s.session.index];
    return k.live && k.gen == s.session.gen ? &k : nullptr;
}

size_t Hub::devices(const User& u) {
    size_t n = 0;
    for (size_t i = 0; i < u.sockets.size(); ++i) {
        const Sock* k = sock(u.sockets[i]);
        if (!k) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; ++j)
            if (const Sock* o = sock(u.sockets[j])) seen = o->device_id == k->device_id;
        n += !seen;
    }
    return n;
}

Hub::User& Hub::user(std::string_view id) {
    auto it = user_index_.find(id);
    if (it != user_index_.end()) return users_[it->second];
    User& u = users_.emplace_back();
    u.uid = uint32_t(users_.size() - 1);
    u.id = std::string(id);
    user_index_.emplace(u.id, u.uid);
    return u;
}

Hub::Room& Hub::room(std::string_view name) {
    if (Room* r = find_room(name)) return *r;
    Room& r = rooms_.emplace_back();
    r.rid = uint32_t(rooms_.size() - 1);
    r.name = std::string(name);
    r.live_seq = store_ ? store_->latest_seq(r.name) : 0;
    room_index_.emplace(r.name, r.rid);
    return r;
}

Hub::Room* Hub::find_room(std::string_view name) {
    auto it = room_index_.find(std::string(name));
    return it == room_index_.end() ? nullptr : &rooms_[it->second];
}

bool Hub::is_member(const User& u, const Room& r) const { return r.members.count(u.id) != 0; }

// The room named by the payload's "room" when the socket's user is a member; otherwise answers
// not_member (PROTOCOL.md §13: every room event but room:join) and returns null.
Hub::Room* Hub::member_room(sio::SocketId s, const Sock& k, const sio::Event& e, const cJSON* p) {
    Room* r = find_room(str(p, "room"));
    if (r && is_member(users_[k.uid], *r)) return r;
    reply_error(s, e.ack_id, e.name, ErrorCode::not_member, "room: you are not a member");
    return nullptr;
}

void Hub::add_member(User& u, Room& r, int64_t joined_seq) {
    if (!r.members.emplace(u.id, joined_seq).second) return;
    u.rooms.push_back(r.rid);
    u.dm_rooms += is_dm_room(r.name);
    for (sio::SocketId s : u.sockets) adapter_->join(r.name, s);
}

void Hub::remove_member(User& u, Room& r) {
    if (!r.members.erase(u.id)) return;
    u.rooms.erase(std::remove(u.rooms.begin(), u.rooms.end(), r.rid), u.rooms.end());
    u.dm_rooms -= is_dm_room(r.name);
    // The store drops the user's cursors in the room with the membership; so does memory, so a
    // later join starts from the new joined_seq.
    if (u.receipts) {
        for (auto& [device, cursors] : u.receipts->cursors) cursors.erase(r.rid);
        u.receipts->highest.erase(r.rid);
    }
    for (sio::SocketId s : u.sockets) adapter_->leave(r.name, s);
    stop_typing(r, u.uid, true);
}

bool Hub::joining(const User& u, const Room& r) const { return joining_.pairs.count(pair_key(u.uid, r.rid)) != 0; }

void Hub::join_begin(const User& u, const Room& r) {
    if (joining_.pairs[pair_key(u.uid, r.rid)]++ != 0) return;
    ++joining_.by_user[uint64_t(u.uid) * 2 + is_dm_room(r.name)];
    ++joining_.by_room[r.rid];
}

void Hub::join_end(std::string_view user_id, std::string_view room_name) {
    auto u = user_index_.find(user_id);
    Room* r = find_room(room_name);
    if (u == user_index_.end() || !r) return;
    auto it = joining_.pairs.find(pair_key(u->second, r->rid));
    if (it == joining_.pairs.end() || --it->second != 0) return;
    joining_.pairs.erase(it);
    auto drop = [](auto& map, auto key) {
        auto i = map.find(key);
        if (i != map.end() && --i->second == 0) map.erase(i);
    };
    drop(joining_.by_user, uint64_t(u->second) * 2 + is_dm_room(r->name));
    drop(joining_.by_room, r->rid);
}

size_t Hub::rooms_held(const User& u, bool dm) const {
    size_t held = dm ? u.dm_rooms : u.rooms.size() - u.dm_rooms;
    auto it = joining_.by_user.find(uint64_t(u.uid) * 2 + dm);
    return held + (it == joining_.by_user.end() ? 0 : it->second);
}

size_t Hub::members_held(const Room& r) const {
    auto it = joining_.by_room.find(r.rid);
    return r.members.size() + (it == joining_.by_room.end() ? 0 : it->second);
}

// ---------------------------------------------------------------- replies

pool::FrameRef Hub::frame(std::string_view event, std::string_view payload_json) const {
    std::string arr = "[\"" + std::string(event) + "\"," + std::string(payload_json) + "]";
    return layer_->encode_event(0, arr);
}

void Hub::reply_ok(sio::SocketId s, int64_t ack_id, std::string_view fields_json) {
    if (ack_id < 0) return;
    std::string body = "[{\"ok\":true";
    if (!fields_json.empty()) body += "," + std::string(fields_json);
    body += "}]";
    if (!layer_->ack(s, ack_id, body)) on_slow_consumer(s); // an answer is never dropped silently
}

void Hub::reply_error(sio::SocketId s, int64_t ack_id, std::string_view event, ErrorCode code, std::string_view message,
                      int64_t retry_after_ms) {
    ++stats_.errors_by_code[size_t(code)];
    send_error(s, ack_id, event, error_code_name(code), message, retry_after_ms);
}

// The §3 failure shape: the ack {ok:false, error} when the client asked for one, else server:error.
void Hub::send_error(sio::SocketId s, int64_t ack_id, std::string_view event, std::string_view code, std::string_view message,
                     int64_t retry_after_ms) {
    ++stats_.errors_out;
    std::string err = "{\"code\":\"" + std::string(code) + "\",\"message\":" + json_string(message);
    if (retry_after_ms >= 0) err += ",\"retryAfterMs\":" + std::to_string(retry_after_ms);
    bool sent = ack_id >= 0 ? layer_->ack(s, ack_id, "[{\"ok\":false,\"error\":" + err + "}}]")
                            : layer_->emit(s, "[\"server:error\"," + err + ",\"event\":" + json_string(event) + "}]");
    if (!sent) on_slow_consumer(s); // an answer is never dropped silently
}

// PROTOCOL.md §13: server:error first (past the send-queue limit), then DISCONNECT, then close.
void Hub::cut(sio::SocketId s, std::string_view code, std::string_view message) {
    layer_->emit(s, "[\"server:error\",{\"code\":\"" + std::string(code) + "\",\"message\":" + json_string(message) + "}]",
                 nullptr, nullptr, 0, 0, true);
    layer_->disconnect(s, true);
}

void Hub::on_slow_consumer(sio::SocketId s) {
    if (!sock(s)) return;
    ++stats_.slow_consumer_cuts;
    // A polling client that stopped polling has gone: said as such, not as a slow reader.
    if (layer_->transport().poll_abandoned(s.session))
        OUTPOST_LOG(info, "abandoned_poll", "session=%u queued=%zu", s.session.index, layer_->transport().queued_bytes(s.session));
    else
        OUTPOST_LOG(info, "slow_consumer", "session=%u limit=%lld", s.session.index, (long long)settings_.limits.max_send_queue_bytes);
    cut(s, "slow_consumer", "send queue over limits.max_send_queue_bytes");
}

// ---------------------------------------------------------------- auth

auth::VerifyResult Hub::verify(std::string_view token) const {
    if (!keys_) return auth::AuthError{auth::AuthCode::token_signature, "no key loaded"};
    int64_t now_s = platform::wall_ms() / 1000;
    auth::Policy policy = auth::policy_from_settings(settings_.auth);
    policy.clock_unsynced = auth::clock_looks_unsynced(now_s);
    return auth::verify(token, *keys_, now_s, policy);
}

void Hub::on_connect(sio::SocketId s, const sio::ConnectRequest& req) {
    std::string token, device_id = "default";
    if (req.auth && proto::json::may_hold_nul(req.auth_raw)) { // cJSON would read "a\u0000b" as "a"
        std::vector<proto::json::Member> members;
        if (!proto::json::members(req.auth_raw, members))
            return layer_->refuse(s, "{\"message\":\"CONNECT payload: could not be read\",\"data\":{\"code\":\"invalid_payload\"}}");
        for (const proto::json::Member& m : members) {
            std::string_view name(m.key.c_str()); // what cJSON reads: up to a NUL
            if ((name != "token" && name != "deviceId") || !(m.value.nul || m.key_nul)) continue;
            bool tok = name == "token";
            return layer_->refuse(s, std::string("{\"message\":\"") + std::string(name) + ": holds a NUL character\",\"data\":{\"code\":\"" +
                                         (tok ? "token_malformed" : "invalid_payload") + "\"}}");
        }
    }
    if (req.auth) {
        if (const char* t = str(req.auth, "token")) token = t;
        const cJSON* d = cJSON_GetObjectItemCaseSensitive(req.auth, "deviceId");
        if (d) {
            if (!cJSON_IsString(d) || !auth::is_valid_user_id(d->valuestring)) {
                layer_->refuse(s, "{\"message\":\"deviceId must be 1-64 chars of [A-Za-z0-9_.@-]\",\"data\":{\"code\":\"invalid_payload\"}}");
                return;
            }
            device_id = d->valuestring;
        }
    } else if (!req.query_device_id.empty()) {
        // An Engine.IO v3 device names itself with ?deviceId= on the handshake (PROTOCOL.md §13).
        if (!auth::is_valid_user_id(req.query_device_id)) {
            layer_->refuse(s, "{\"message\":\"deviceId must be 1-64 chars of [A-Za-z0-9_.@-]\",\"data\":{\"code\":\"invalid_payload\"}}");
            return;
        }
        device_id = std::string(req.query_device_id);
    }
    if (token.empty()) token = std::string(bearer(req.authorization));
    if (token.empty()) token = std::string(req.query_token);
    auth::VerifyResult r = token.empty() ? auth::VerifyResult(auth::AuthError{auth::AuthCode::token_missing, "no token"})
                                         : verify(token);
    if (!r.ok()) {
        ++stats_.auth_failures[int(r.code())];
        std::string_view code = auth::auth_code_name(r.code());
        // At most kAuthLogPerSecond lines a second; the next line counts those left out.
        int64_t now = layer_->transport().now_ms();
        if (now - auth_log_window_ >= 1000) {
            auth_log_window_ = now;
            auth_log_lines_ = 0;
        }
        if (auth_log_lines_ < kAuthLogPerSecond) {
            ++auth_log_lines_;
            OUTPOST_LOG(info, "auth_refused", "remote=%.*s code=%.*s detail=\"%s\" not_logged=%llu", int(req.remote_addr.size()),
                        req.remote_addr.data(), int(code.size()), code.data(), r.error().detail.c_str(),
                        (unsigned long long)auth_log_skipped_);
            auth_log_skipped_ = 0;
        } else {
            ++auth_log_skipped_;
        }
        layer_->refuse(s, "{\"message\":" + json_string(auth::auth_code_message(r.code())) + ",\"data\":{\"code\":\"" +
                              std::string(code) + "\"}}");
        return;
    }
    Sock& k = socks_[s.session.index];
    k = Sock();
    k.gen = s.session.gen;
    k.live = true;
    k.identity = std::move(r).value();
    k.device_id = device_id;
    int64_t now = layer_->transport().now_ms();
    const settings::RateLimits& rl = settings_.rate_limits;
    const settings::RateLimit* classes[] = {&rl.typing, &rl.room, &rl.presence, &rl.message, &rl.default_};
    for (size_t i = 0; i < size_t(RateClass::count); ++i) k.buckets[i].reset(classes[i]->burst, classes[i]->per_ms, now);
    ++sockets_;
    ++stats_.connects_ok;
    std::string sid = layer_->accept(s);
    OUTPOST_LOG(info, "connect", "user=%s device=%s remote=%.*s eio=%d", k.identity.user_id.c_str(), k.device_id.c_str(),
                int(req.remote_addr.size()), req.remote_addr.data(), req.eio);
    std::string est = "[\"connection:established\",{\"userId\":" + json_string(k.identity.user_id) +
                      ",\"sid\":\"" + sid + "\",\"deviceId\":" + json_string(k.device_id) +
                      ",\"serverTime\":" + std::to_string(platform::wall_ms()) +
                      ",\"recovered\":false,\"heartbeat\":{\"intervalMs\":" + std::to_string(settings_.ping_interval_ms) +
                      ",\"timeoutMs\":" + std::to_string(settings_.ping_timeout_ms) +
                      "},\"limits\":{\"maxPayload\":" + std::to_string(settings_.max_payload) +
                      ",\"maxBody\":" + std::to_string(settings_.limits.max_body) + "}}]";
    layer_->emit(s, est);
    User& u = user(k.identity.user_id);
    k.uid = u.uid;
    user_came(u, s, k);
    revoke_rooms(u, k);
    sync(s, k, u);
    schedule_expiry(s, k);
}

// PROTOCOL.md §5: rooms the connecting token (its `rooms` claim or auth.default_rooms) no longer
// grants are left as room:leave would leave them, and the user's sockets hear room:revoked right
// after connection:established. Memory leaves at once (no replay, live events or sends there);
// the store follows. Direct rooms are never granted by patterns and are not affected.
void Hub::revoke_rooms(User& u, const Sock& k) {
    std::vector<uint32_t> gone;
    for (uint32_t rid : u.rooms)
        if (!is_reserved_room(rooms_[rid].name) && !auth::may_join(k.identity, rooms_[rid].name, settings_.auth.default_rooms))
            gone.push_back(rid);
    for (uint32_t rid : gone) {
        Room& r = rooms_[rid];
        std::string room_json = json_string(r.name);
        remove_member(u, r);
        adapter_->to_room(r.name, frame("room:member_left", "{\"room\":" + room_json + ",\"userId\":" + json_string(u.id) + "}"),
                          {}, user_room(u.id));
        adapter_->to_room(user_room(u.id), frame("room:revoked", "{\"room\":" + room_json + "}"));
        OUTPOST_LOG(info, "room_revoked", "user=%s room=%s", u.id.c_str(), r.name.c_str());
        uint64_t token = next_token_++;
        pending_[token] = Pending{Pending::revoke, {}, -1, r.name, u.id, "room:revoked"};
        if (store_) store_->submit_leave(token, r.name, u.id);
        else complete(done(token));
    }
}

void Hub::on_disconnect(sio::SocketId s, std::string_view reason) {
    Sock* k = sock(s);
    if (!k) return;
    OUTPOST_LOG(info, "disconnect", "user=%s device=%s reason=\"%.*s\"", k->identity.user_id.c_str(), k->device_id.c_str(),
                int(reason.size()), reason.data());
    user_left(users_[k->uid], s);
    recent_disconnects_.push_back(std::to_string(platform::wall_ms()) + " " + k->identity.user_id + " " + std::string(reason));
    if (recent_disconnects_.size() > 20) recent_disconnects_.pop_front();
    k->live = false;
    k->identity = auth::Identity();
    --sockets_;
}

// The cut is at exp + leeway; auth:expiring goes refresh_warning_s before it (at once when
// already inside that window). Deadlines are monotonic so a clock step does not cut everybody.
void Hub::schedule_expiry(sio::SocketId s, Sock& k) {
    k.cut_mono = k.warn_mono = INT64_MAX;
    if (!k.identity.exp) return;
    int64_t now_wall = platform::wall_ms(), now_mono = layer_->transport().now_ms();
    int64_t cut_wall = (*k.identity.exp + settings_.auth.leeway_s) * 1000;
    k.cut_mono = now_mono + (cut_wall - now_wall);
    k.warn_mono = std::max(now_mono, k.cut_mono - settings_.auth.refresh_warning_s * 1000);
    // One timer per socket at a time: the warning's timer schedules the cut.
    layer_->transport().timers().schedule(k.warn_mono, expiry_cb, this, s.session.pack());
}

void Hub::expiry_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    sio::SocketId s{net::SessionId::unpack(arg), 0};
    Sock* k = self->sock(s);
    if (!k) return;
    if (now >= k->cut_mono) {
        ++self->stats_.expired_cuts;
        self->cut(s, "token_expired", "token expired");
        return;
    }
    if (now >= k->warn_mono) {
        k->warn_mono = INT64_MAX;
        int64_t cut = k->cut_mono;
        self->layer_->transport().timers().schedule(cut, expiry_cb, self, arg);
        self->layer_->emit(s, "[\"auth:expiring\",{\"expiresInMs\":" + std::to_string(cut - now) + "}]");
    }
}

// ---------------------------------------------------------------- presence

void Hub::presence_broadcast(const User& u, const pool::FrameRef& f, bool include_own) {
    std::string own = include_own ? std::string() : user_room(u.id);
    if (settings_.presence.scope != "rooms") {
        adapter_->to_all(f, own);
        return;
    }
    // Scope "rooms": sockets of users sharing a room with `u`, and admins; each once.
    std::vector<sio::SocketId> to(admins_);
    for (uint32_t rid : u.rooms)
        if (const auto* v = adapter_->sockets(rooms_[rid].name)) to.insert(to.end(), v->begin(), v->end());
    if (include_own) to.insert(to.end(), u.sockets.begin(), u.sockets.end());
    auto key = [](sio::SocketId a) { return a.session.pack(); };
    std::sort(to.begin(), to.end(), [&](auto a, auto b) { return key(a) < key(b); });
    to.erase(std::unique(to.begin(), to.end()), to.end());
    std::vector<sio::SocketId> full;
    for (sio::SocketId s : to) {
        if (!include_own && std::find(u.sockets.begin(), u.sockets.end(), s) != u.sockets.end()) continue;
        if (!layer_->send_frame(s, f)) full.push_back(s);
    }
    for (sio::SocketId s : full) on_slow_consumer(s);
}

void Hub::user_came(User& u, sio::SocketId s, const Sock& k) {
    if (!k.identity.name.empty()) u.name = k.identity.name;
    u.sockets.push_back(s);
    adapter_->join(user_room(u.id), s);
    for (uint32_t rid : u.rooms) adapter_->join(rooms_[rid].name, s);
    if (k.identity.admin) admins_.push_back(s);
    if (u.sockets.size() != 1) return;
    if (u.offline_due) {
        u.offline_due = 0; // back within the grace period: nobody noticed
        return;
    }
    if (u.online) return;
    u.online = true;
    ++stats_.users_online;
    presence_broadcast(u, frame("user:online", "{\"userId\":" + json_string(u.id) + ",\"name\":" +
                                                   (u.name.empty() ? std::string("null") : json_string(u.name)) +
                                                   ",\"ts\":" + std::to_string(platform::wall_ms()) + "}"),
                       false);
}

void Hub::user_left(User& u, sio::SocketId s) {
    u.sockets.erase(std::remove(u.sockets.begin(), u.sockets.end(), s), u.sockets.end());
    std::vector<std::string> names{user_room(u.id)};
    for (uint32_t rid : u.rooms) names.push_back(rooms_[rid].name);
    adapter_->leave_all(s, names);
    admins_.erase(std::remove(admins_.begin(), admins_.end(), s), admins_.end());
    if (!u.sockets.empty()) return;
    u.last_seen = platform::wall_ms();
    u.offline_due = layer_->transport().now_ms() + settings_.presence.grace_ms;
    layer_->transport().timers().schedule(u.offline_due, offline_cb, this, u.uid);
    for (uint32_t rid : u.rooms) stop_typing(rooms_[rid], u.uid, true);
}

void Hub::offline_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    if (arg >= self->users_.size()) return;
    User& u = self->users_[arg];
    if (!u.sockets.empty() || !u.offline_due || now < u.offline_due) return;
    u.offline_due = 0;
    u.online = false;
    --self->stats_.users_online;
    self->presence_broadcast(u, self->frame("user:offline", "{\"userId\":" + json_string(u.id) + ",\"ts\":" +
                                                                std::to_string(platform::wall_ms()) +
                                                                ",\"lastSeen\":" + std::to_string(u.last_seen) + "}"),
                             false);
}

// ---------------------------------------------------------------- the router

bool Hub::admit(sio::SocketId s, Sock& k, const sio::Event& e, RateClass rc) {
    int64_t now = layer_->transport().now_ms(), retry = 0;
    if (k.buckets[size_t(rc)].take(now, retry)) return true;
    ++stats_.rate_limited;
    int64_t oldest = k.refusals[k.refusal_next];
    k.refusals[k.refusal_next] = now;
    k.refusal_next = (k.refusal_next + 1) % 50;
    if (oldest && now - oldest < kRefusalWindowMs) {
        ++stats_.rate_limit_cuts;
        OUTPOST_LOG(info, "rate_limit_cut", "user=%s session=%u", k.identity.user_id.c_str(), s.session.index);
        cut(s, "rate_limited", "too many requests after rate-limit refusals");
        return false;
    }
    reply_error(s, e.ack_id, e.name, ErrorCode::rate_limited, "rate limit exceeded for this event class", retry);
    return false;
}

void Hub::on_event(sio::SocketId s, const sio::Event& e) {
    Sock* k = sock(s);
    if (!k) return;
    ++stats_.events_in;
    const Route* route = nullptr;
    for (const Route& r : kRoutes)
        if (r.name == e.name) route = &r;
    ++stats_.events_by_route[route ? size_t(route - kRoutes) : kRouteCount];
    if (!admit(s, *k, e, route ? route->rate : RateClass::default_)) return;
    if (proto::json::may_hold_nul(e.raw)) {
        std::string where = nul_field(e.raw, route && route->handler == &Hub::on_message_send);
        if (!where.empty())
            return reply_error(s, e.ack_id, e.name, ErrorCode::invalid_payload,
                               where + ": holds a NUL character (\\u0000), not allowed in names and ids");
    }
    if (!route) return reply_error(s, e.ack_id, e.name, ErrorCode::unknown_event, "unknown event \"" + std::string(e.name) + "\"");
    if (route->admin && !k->identity.admin) return reply_error(s, e.ack_id, e.name, ErrorCode::forbidden, "admin only");
    if (e.attachments) return reply_error(s, e.ack_id, e.name, ErrorCode::invalid_payload, "binary attachments are not accepted");
    int n = cJSON_GetArraySize(e.args);
    const cJSON* payload = n > 1 ? cJSON_GetArrayItem(e.args, 1) : nullptr;
    std::unique_ptr<cJSON, void (*)(cJSON*)> empty(nullptr, cJSON_Delete);
    if (!payload) { // an event without arguments is checked as {}
        empty.reset(cJSON_CreateObject());
        payload = empty.get();
    }
    std::string why;
    if (!validate(*route->schema, payload, why)) return reply_error(s, e.ack_id, e.name, ErrorCode::invalid_payload, why);
    (this->*route->handler)(s, *k, e, payload);
}

// ---------------------------------------------------------------- auth:refresh

void Hub::on_auth_refresh(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    auth::VerifyResult r = verify(str(p, "token"));
    if (!r.ok()) {
        ++stats_.auth_failures[int(r.code())];
        return send_error(s, e.ack_id, e.name, auth::auth_code_name(r.code()), auth::auth_code_message(r.code()));
    }
    if (r->user_id != k.identity.user_id)
        return reply_error(s, e.ack_id, e.name, ErrorCode::forbidden, "the new token is for another user");
    bool was_admin = k.identity.admin;
    k.identity = std::move(r).value();
    if (was_admin != k.identity.admin) {
        if (k.identity.admin) admins_.push_back(s);
        else admins_.erase(std::remove(admins_.begin(), admins_.end(), s), admins_.end());
    }
    schedule_expiry(s, k);
    reply_ok(s, e.ack_id, k.identity.exp ? "\"exp\":" + std::to_string(*k.identity.exp) : std::string("\"exp\":null"));
}

// ---------------------------------------------------------------- rooms

std::string Hub::members_json(const Room& r, bool& truncated) const {
    std::string out = "[";
    size_t n = 0;
    for (const auto& [id, seq] : r.members) {
        if (n == kMaxMembersListed) break;
        if (n++) out += ',';
        out += json_string(id);
    }
    truncated = r.members.size() > kMaxMembersListed;
    return out + "]";
}

void Hub::on_room_join(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    std::string name = str(p, "room");
    if (is_reserved_room(name)) return reply_error(s, e.ack_id, e.name, ErrorCode::forbidden, "room: reserved name");
    if (!auth::may_join(k.identity, name, settings_.auth.default_rooms))
        return reply_error(s, e.ack_id, e.name, ErrorCode::forbidden, "room: not allowed by your token");
    User& u = users_[k.uid];
    Room* existing = find_room(name);
    if (existing && is_member(u, *existing)) {
        bool truncated = false;
        std::string members = members_json(*existing, truncated);
        int64_t seq = store_ ? store_->latest_seq(name) : 0;
        return reply_ok(s, e.ack_id, "\"room\":" + json_string(name) + ",\"seq\":" + std::to_string(seq) + ",\"members\":" +
                                         members + ",\"membersTruncated\":" + (truncated ? "true" : "false"));
    }
    // Pending joins count like committed ones (pipelined joins must not pass the limits); a second
    // join of a room whose first is still in flight adds nothing.
    if (!existing || !joining(u, *existing)) {
        if (int64_t(rooms_held(u, false)) >= settings_.limits.max_rooms_per_user)
            return reply_error(s, e.ack_id, e.name, ErrorCode::room_full, "you are in limits.max_rooms_per_user rooms already");
        if (existing && int64_t(members_held(*existing)) >= settings_.limits.max_members_per_room)
            return reply_error(s, e.ack_id, e.name, ErrorCode::room_full, "room has limits.max_members_per_room members");
    }
    join_begin(u, existing ? *existing : room(name));
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::join, s, e.ack_id, name, u.id, std::string(e.name)};
    if (store_) store_->submit_join(token, name, u.id);
    else complete(done(token));
}

void Hub::on_room_leave(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    std::string name = str(p, "room");
    Room* r = find_room(name);
    if (!r || !is_member(users_[k.uid], *r)) return reply_error(s, e.ack_id, e.name, ErrorCode::not_member, "room: you are not a member");
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::leave, s, e.ack_id, name, users_[k.uid].id, std::string(e.name)};
    if (store_) store_->submit_leave(token, name, users_[k.uid].id);
    else complete(done(token));
}

void Hub::on_room_members(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    std::string name = str(p, "room");
    Room* r = find_room(name);
    if (!r || !is_member(users_[k.uid], *r)) return reply_error(s, e.ack_id, e.name, ErrorCode::not_member, "room: you are not a member");
    std::string out = "[";
    size_t n = 0;
    for (const auto& [id, seq] : r->members) {
        if (n == kMaxMembersListed) break;
        const User& m = users_[user_index_.at(id)];
        out += std::string(n++ ? "," : "") + "{\"userId\":" + json_string(id) + ",\"online\":" + (m.online ? "true" : "false") +
               ",\"status\":" + json_string(m.online ? kStatuses[m.status] : "offline") + "}";
    }
    reply_ok(s, e.ack_id, "\"room\":" + json_string(name) + ",\"members\":" + out + "]");
}

// Applies a committed membership change (or reports the failure) and answers the requester.
void Hub::complete(store::Completion&& c) {
    auto it = pending_.find(c.token);
    if (it == pending_.end()) return;
    Pending p = std::move(it->second);
    pending_.erase(it);
    if (p.kind == Pending::message) return complete_message(p, c);
    if (p.kind == Pending::join || p.kind == Pending::dm_join) join_end(p.user, p.room);
    if (p.kind == Pending::revoke) { // memory already left the room when the token was checked
        if (c.status != Status::ok)
            OUTPOST_LOG(warn, "store_refused", "event=room:revoked room=%s user=%s error=\"%s\" detail=\"left in memory; revoked again at the next connect\"",
                        p.room.c_str(), p.user.c_str(), c.error.c_str());
        return;
    }
    if (c.status != Status::ok) {
        OUTPOST_LOG(warn, "store_refused", "event=%s room=%s error=\"%s\"", p.event.c_str(), p.room.c_str(), c.error.c_str());
        if (sock(p.socket)) reply_error(p.socket, p.ack_id, p.event, ErrorCode::unavailable, "storage is not writable: " + c.error);
        return;
    }
    User& u = user(p.user);
    Room& r = room(p.room);
    std::string payload = "{\"room\":" + json_string(r.name) + ",\"userId\":" + json_string(u.id) + "}";
    if (p.kind == Pending::dm_join) {
        add_member(u, r, c.message.seq); // direct rooms: no room:member_joined (PROTOCOL.md §13)
    } else if (p.kind == Pending::join) {
        bool fresh = !is_member(u, r);
        add_member(u, r, c.message.seq);
        if (fresh) adapter_->to_room(r.name, frame("room:member_joined", payload), {}, user_room(u.id));
        if (!sock(p.socket)) return;
        bool truncated = false;
        std::string members = members_json(r, truncated);
        int64_t seq = store_ ? store_->latest_seq(r.name) : 0;
        reply_ok(p.socket, p.ack_id, "\"room\":" + json_string(r.name) + ",\"seq\":" + std::to_string(seq) + ",\"members\":" +
                                         members + ",\"membersTruncated\":" + (truncated ? "true" : "false"));
    } else if (p.kind == Pending::leave) {
        bool was = is_member(u, r);
        remove_member(u, r);
        if (was) adapter_->to_room(r.name, frame("room:member_left", payload), {}, user_room(u.id));
        if (sock(p.socket)) reply_ok(p.socket, p.ack_id, "\"room\":" + json_string(r.name));
    }
}

void Hub::on_store_ready() {
    if (!store_) return;
    if (store_->opens() != loaded_opens_) {
        std::string error;
        if (load(error) != Status::ok) OUTPOST_LOG(error, "memberships_load_failed", "error=\"%s\"", error.c_str());
    }
    store_->drain([this](store::Completion&& c) { complete(std::move(c)); });
}

// ---------------------------------------------------------------- presence events

void Hub::on_presence_set(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    User& u = users_[k.uid];
    u.status = status_index(str(p, "status"));
    const char* name = kStatuses[u.status];
    reply_ok(s, e.ack_id, "\"status\":" + json_string(name));
    presence_broadcast(u, frame("presence:update", "{\"userId\":" + json_string(u.id) + ",\"status\":" + json_string(name) +
                                                       ",\"ts\":" + std::to_string(platform::wall_ms()) + "}"),
                       true);
}

void Hub::on_presence_get(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    const cJSON* ids = cJSON_GetObjectItemCaseSensitive(p, "userIds");
    const char* room_name = str(p, "room");
    if ((ids != nullptr) == (room_name != nullptr))
        return reply_error(s, e.ack_id, e.name, ErrorCode::invalid_payload, "userIds: give either userIds or room");
    std::vector<std::string> who;
    if (ids) {
        for (const cJSON* i = ids->child; i; i = i->next) who.emplace_back(i->valuestring);
    } else {
        Room* r = find_room(room_name);
        if (!r || !is_member(users_[k.uid], *r)) return reply_error(s, e.ack_id, e.name, ErrorCode::not_member, "room: you are not a member");
        for (const auto& [id, seq] : r->members) who.emplace_back(id);
    }
    std::string out = "[";
    for (size_t i = 0; i < who.size(); ++i) {
        auto it = user_index_.find(who[i]);
        const User* u = it == user_index_.end() ? nullptr : &users_[it->second];
        bool online = u && u->online;
        std::string last = online || !u || !u->last_seen ? std::string("null") : std::to_string(u->last_seen);
        out += std::string(i ? "," : "") + "{\"userId\":" + json_string(who[i]) + ",\"online\":" + (online ? "true" : "false") +
               ",\"status\":" + json_string(online ? kStatuses[u->status] : "offline") + ",\"lastSeen\":" + last +
               ",\"devices\":" + std::to_string(u ? devices(*u) : 0) + "}";
    }
    reply_ok(s, e.ack_id, "\"presence\":" + out + "]");
}

// ---------------------------------------------------------------- typing

void Hub::stop_typing(Room& r, uint32_t uid, bool notify) {
    auto it = std::find_if(r.typing.begin(), r.typing.end(), [&](auto& t) { return t.first == uid; });
    if (it == r.typing.end()) return;
    r.typing.erase(it);
    if (!notify) return;
    const User& u = users_[uid];
    adapter_->to_room(r.name, frame("user:typing", "{\"room\":" + json_string(r.name) + ",\"userId\":" + json_string(u.id) +
                                                       ",\"active\":false}"),
                      {}, user_room(u.id));
}

void Hub::on_typing(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    std::string name = str(p, "room");
    bool active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "active"));
    Room* r = find_room(name);
    User& u = users_[k.uid];
    if (!r || !is_member(u, *r)) return reply_error(s, e.ack_id, e.name, ErrorCode::not_member, "room: you are not a member");
    reply_ok(s, e.ack_id, "");
    if (!active) {
        stop_typing(*r, u.uid, false);
    } else {
        int64_t due = layer_->transport().now_ms() + kTypingExpiryMs;
        auto it = std::find_if(r->typing.begin(), r->typing.end(), [&](auto& t) { return t.first == u.uid; });
        if (it == r->typing.end()) r->typing.emplace_back(u.uid, due);
        else it->second = due;
        layer_->transport().timers().schedule(due, typing_cb, this, (uint64_t(r->rid) << 32) | u.uid);
    }
    adapter_->to_room(r->name, frame("user:typing", "{\"room\":" + json_string(r->name) + ",\"userId\":" + json_string(u.id) +
                                                        ",\"active\":" + (active ? "true" : "false") + "}"),
                      {}, user_room(u.id));
}

void Hub::typing_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<Hub*>(ctx);
    uint32_t rid = uint32_t(arg >> 32), uid = uint32_t(arg);
    if (rid >= self->rooms_.size()) return;
    Room& r = self->rooms_[rid];
    auto it = std::find_if(r.typing.begin(), r.typing.end(), [&](auto& t) { return t.first == uid; });
    if (it != r.typing.end() && now >= it->second) self->stop_typing(r, uid, true);
}

// ---------------------------------------------------------------- admin

void Hub::broadcast_maintenance(std::string_view message) {
    adapter_->to_all(frame("system:maintenance", "{\"message\":" + json_string(message) + ",\"ts\":" +
                                                     std::to_string(platform::wall_ms()) + "}"));
}

size_t Hub::disconnect_user(std::string_view user_id, std::string_view reason) {
    auto it = user_index_.find(user_id);
    if (it == user_index_.end()) return 0;
    const auto& list = users_[it->second].sockets;
    std::vector<sio::SocketId> socks(list.begin(), list.end()); // cut() changes the list
    for (sio::SocketId s : socks) cut(s, "disconnected_by_admin", reason.empty() ? "disconnected by an administrator" : reason);
    stats_.admin_disconnects += socks.size();
    return socks.size();
}

void Hub::on_admin_broadcast(sio::SocketId s, Sock&, const sio::Event& e, const cJSON* p) {
    broadcast_maintenance(str(p, "message"));
    reply_ok(s, e.ack_id, "");
}

void Hub::on_admin_disconnect(sio::SocketId s, Sock&, const sio::Event& e, const cJSON* p) {
    const char* reason = str(p, "reason");
    size_t n = disconnect_user(str(p, "userId"), reason ? reason : "");
    if (sock(s)) reply_ok(s, e.ack_id, "\"userId\":" + json_string(str(p, "userId")) + ",\"sockets\":" + std::to_string(n));
}

void Hub::on_admin_stats(sio::SocketId s, Sock&, const sio::Event& e, const cJSON*) {
    std::string stats = stats_json_ ? stats_json_() : std::string("{}");
    // The ack is {ok:true, ...stats}: splice the stats object's members after "ok".
    std::string inner = stats.size() > 2 ? stats.substr(1, stats.size() - 2) : std::string();
    reply_ok(s, e.ack_id, inner);
}

// ---------------------------------------------------------------- messages

std::string Hub::message_json(const store::Message& m) const {
    return "{\"id\":\"" + std::to_string(m.id) + "\",\"room\":" + json_string(m.room) + ",\"seq\":" + std::to_string(m.seq) +
           ",\"from\":" + json_string(m.sender) + ",\"body\":" + (m.body.empty() ? std::string("null") : m.body) +
           ",\"ts\":" + std::to_string(m.ts) + ",\"clientId\":" + json_string(m.client_id) + "}";
}

void Hub::ensure_dm_member(User& u, Room& r) {
    if (is_member(u, r) || joining(u, r)) return;
    join_begin(u, r);
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::dm_join, {}, -1, r.name, u.id, "message:send"};
    if (store_) store_->submit_join(token, r.name, u.id);
    else complete(done(token));
}

void Hub::on_message_send(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    const char* room_name = str(p, "room");
    const char* to = str(p, "to");
    if ((room_name != nullptr) == (to != nullptr))
        return reply_error(s, e.ack_id, e.name, ErrorCode::invalid_payload, "room: give either room or to");
    std::string text, why;
    if (!body_text(e.raw, text, why)) return reply_error(s, e.ack_id, e.name, ErrorCode::invalid_payload, why);
    size_t body_len = text.size();
    if (int64_t(body_len) > settings_.limits.max_body)
        return reply_error(s, e.ack_id, e.name, ErrorCode::payload_too_large,
                           "body: " + std::to_string(body_len) + " bytes, over limits.max_body (" +
                               std::to_string(settings_.limits.max_body) + ")");
    User& u = users_[k.uid];
    std::string name;
    if (to) {
        if (std::string_view(to) == "system") return reply_error(s, e.ack_id, e.name, ErrorCode::forbidden, "to: reserved user id");
        // Only users this server knows (connected since it started, or a member of some room)
        // can be written to: a made-up id must not create a user, a room and rows that stay.
        auto peer_at = user_index_.find(to);
        if (peer_at == user_index_.end())
            return reply_error(s, e.ack_id, e.name, ErrorCode::forbidden, "to: no user with this id is known to this server");
        User& peer = users_[peer_at->second];
        name = dm_room(u.id, to);
        Room* existing = find_room(name);
        int64_t limit = settings_.limits.max_dm_rooms_per_user;
        for (User* who : {&u, &peer}) {
            bool new_room = !existing || (!is_member(*who, *existing) && !joining(*who, *existing));
            if (new_room && int64_t(rooms_held(*who, true)) >= limit)
                return reply_error(s, e.ack_id, e.name, ErrorCode::room_full,
                                   who == &u ? "you are in limits.max_dm_rooms_per_user direct rooms already"
                                             : "the recipient is in limits.max_dm_rooms_per_user direct rooms already");
        }
        if (store_ && !store_->health().writable)
            return reply_error(s, e.ack_id, e.name, ErrorCode::unavailable, "storage is not writable: " + store_->health().reason);
        Room& r = existing ? *existing : room(name);
        ensure_dm_member(u, r);
        ensure_dm_member(peer, r);
    } else {
        name = room_name;
        Room* r = find_room(name);
        if (!r || !is_member(u, *r)) return reply_error(s, e.ack_id, e.name, ErrorCode::not_member, "room: you are not a member");
    }
    if (!store_) return reply_error(s, e.ack_id, e.name, ErrorCode::unavailable, "no storage is attached");
    if (!store_->health().writable)
        return reply_error(s, e.ack_id, e.name, ErrorCode::unavailable, "storage is not writable: " + store_->health().reason);
    uint64_t token = next_token_++;
    pending_[token] = Pending{Pending::message, s, e.ack_id, name, u.id, std::string(e.name)};
    store_->submit_message(token, name, u.id, str(p, "clientId"), std::move(text), platform::wall_ms(), k.device_id);
}

void Hub::publish(std::string_view room_name, std::string_view body_json, std::string_view client_id, uint64_t reply_token) {
    if (!store_) {
        layer_->transport().http_reply(reply_token, net::HttpResponse{503, "application/json",
                                                                      "{\"code\":\"unavailable\",\"message\":\"no storage is attached\"}"});
        return;
    }
    room(room_name);
    uint64_t token = next_token_++;
    Pending p{Pending::message, {}, -1, std::string(room_name), "system", "publish"};
    p.http_token = reply_token;
    pending_[token] = std::move(p);
    store_->submit_message(token, std::string(room_name), "system", std::string(client_id), std::string(body_json), platform::wall_ms());
}

void Hub::complete_message(const Pending& p, const store::Completion& c) {
    const store::Message& m = c.message;
    if (c.status != Status::ok) {
        OUTPOST_LOG(warn, "store_refused", "event=%s room=%s error=\"%s\"", p.event.c_str(), p.room.c_str(), c.error.c_str());
        if (p.http_token)
            layer_->transport().http_reply(p.http_token, net::HttpResponse{503, "application/json",
                                                                           "{\"code\":\"unavailable\",\"message\":" + json_string("storage is not writable: " + c.error) + "}"});
        else if (sock(p.socket))
            reply_error(p.socket, p.ack_id, p.event, ErrorCode::unavailable, "storage is not writable: " + c.error);
        return;
    }
    std::string fields = "\"id\":\"" + std::to_string(m.id) + "\",\"room\":" + json_string(m.room) + ",\"seq\":" +
                         std::to_string(m.seq) + ",\"ts\":" + std::to_string(m.ts) + ",\"duplicate\":" + (c.duplicate ? "true" : "false");
    if (p.http_token) layer_->transport().http_reply(p.http_token, net::HttpResponse{200, "application/json", "{\"ok\":true," + fields + "}"});
    else if (sock(p.socket)) reply_ok(p.socket, p.ack_id, fields);
    if (c.duplicate) return;
    ++stats_.messages_in;
    fan_out(room(m.room), m, p.socket);
}

// Every member socket except the sending one gets the same encoded message:new, in seq order.
void Hub::fan_out(Room& r, const store::Message& m, sio::SocketId except) {
    if (m.seq > r.live_seq) r.live_seq = m.seq;
    // One encoded frame for every recipient, with one small ack id (PROTOCOL.md §13) that each
    // recipient's ack table maps back to (room, seq).
    sio::AckTag ack{layer_->new_ack_id(), r.rid, m.seq};
    pool::FrameRef f = layer_->encode_event(0, "[\"message:new\"," + message_json(m) + "]", ack.id);
    stats_.messages_out += adapter_->room_size(r.name);
    adapter_->to_room(r.name, f, except, {}, &ack);
}

Hub::Receipts& Hub::receipts(User& u) {
    if (u.receipts) return *u.receipts;
    u.receipts = std::make_unique<Receipts>();
    if (store_) {
        Result<std::vector<store::Cursor>> rows = store_->load_cursors(u.id);
        if (rows.ok()) {
            for (const store::Cursor& c : *rows) {
                Room& r = room(c.room);
                device_cursors(u, c.device)[r.rid] = c.delivered;
                auto& rc = u.receipts->highest[r.rid];
                rc.first = std::max(rc.first, c.delivered);
                rc.second = std::max(rc.second, c.read);
            }
        }
    }
    return *u.receipts;
}

std::unordered_map<uint32_t, int64_t>& Hub::device_cursors(User& u, std::string_view device) {
    auto& cursors = receipts(u).cursors;
    for (auto& [d, map] : cursors)
        if (d == device) return map;
    cursors.emplace_back(std::string(device), std::unordered_map<uint32_t, int64_t>{});
    return cursors.back().second;
}

// A device's cursor starts at the room's seq when the user became a member (PROTOCOL.md §13).
int64_t Hub::cursor_of(User& u, std::string_view device, const Room& r) {
    auto& map = device_cursors(u, device);
    auto it = map.find(r.rid);
    if (it != map.end()) return it->second;
    auto m = r.members.find(u.id);
    return m == r.members.end() ? 0 : m->second;
}

void Hub::confirm(sio::SocketId, Sock& k, Room& r, int64_t seq, bool read) {
    User& u = users_[k.uid];
    seq = std::min(seq, r.live_seq);
    if (seq <= 0) return;
    auto& rc = receipts(u).highest[r.rid];
    if (!read) {
        auto& map = device_cursors(u, k.device_id);
        int64_t& cur = map.try_emplace(r.rid, cursor_of(u, k.device_id, r)).first->second;
        if (seq <= cur) return;
        cur = seq;
        if (store_) store_->submit_cursor(0, u.id, k.device_id, r.name, seq, -1);
        if (seq <= rc.first) return;
        rc.first = seq;
    } else {
        if (seq <= rc.second) return;
        rc.second = seq;
        if (store_) store_->submit_cursor(0, u.id, k.device_id, r.name, -1, seq);
    }
    adapter_->to_room(r.name, frame("message:status", "{\"room\":" + json_string(r.name) + ",\"userId\":" + json_string(u.id) +
                                                          ",\"seq\":" + std::to_string(seq) + ",\"status\":\"" +
                                                          (read ? "read" : "delivered") + "\",\"ts\":" +
                                                          std::to_string(platform::wall_ms()) + "}"),
                      {}, user_room(u.id));
}

// The recipient acknowledged a message:new: tag.key is the room index, tag.value the seq.
// Confirming N confirms everything up to N, but a socket can acknowledge N after losing a lower
// message on the way (a poll that its client dropped while the answer was in flight): the device's
// cursor never moves past a message sent to this socket and not acknowledged by it (AckTable::lowest,
// which also counts the entries dropped from a full table). The acknowledgement is held back in
// Sock::acked_ahead until the lower ones are answered, and the skipped messages are sent again now,
// with fresh ack ids (resend_skipped), so the device gets them in the same session.
void Hub::on_app_ack(sio::SocketId s, const sio::AckTag& tag, const cJSON*, const sio::AckTag* earlier, uint32_t n_earlier) {
    Sock* k = sock(s);
    if (!k || tag.key >= rooms_.size()) return;
    Room& r = rooms_[tag.key];
    if (!is_member(users_[k->uid], r)) return;
    sio::AckTable* acks = layer_->app_acks(s);
    if (acks) resend_skipped(s, *k, r, tag.value, earlier, n_earlier, *acks);
    int64_t ahead = tag.value;
    auto held = std::find_if(k->acked_ahead.begin(), k->acked_ahead.end(), [&](const sio::AckTag& a) { return a.key == r.rid; });
    if (held != k->acked_ahead.end()) ahead = std::max(ahead, held->value);
    int64_t low = acks ? acks->lowest(r.rid) : INT64_MAX;
    if (low <= ahead) {
        if (held != k->acked_ahead.end()) held->value = ahead;
        else k->acked_ahead.push_back(sio::AckTag{0, r.rid, ahead});
        ahead = low - 1;
    } else if (held != k->acked_ahead.end()) {
        *held = k->acked_ahead.back();
        k->acked_ahead.pop_back();
    }
    confirm(s, *k, r, ahead, false);
}

// Sends again, once per detection, the messages of `r` that this socket skipped when it
// acknowledged `acked`: the unanswered ones sent before it (`earlier`) and those dropped from its
// full ack table below it, at most kMaxResend (the rest stay counted as dropped, for the next
// acknowledgement). They are read from the store in runs of consecutive seqs (one query per run).
// What cannot be queued stays counted as dropped, so the cursor stays below it and the next
// connect replays it.
void Hub::resend_skipped(sio::SocketId s, Sock& k, Room& r, int64_t acked, const sio::AckTag* earlier, uint32_t n_earlier,
                         sio::AckTable& acks) {
    constexpr size_t kMaxResend = 64;
    std::vector<int64_t> seqs;
    for (uint32_t i = 0; i < n_earlier; ++i) seqs.push_back(earlier[i].value);
    int64_t dropped = 0;
    if (acks.dropped_low(r.rid, dropped) && dropped < acked) {
        acks.forget_dropped(r.rid);
        int64_t q = dropped;
        for (; q < acked && seqs.size() < kMaxResend + n_earlier; ++q) seqs.push_back(q);
        if (q < acked) acks.mark_dropped(r.rid, q);
    }
    if (seqs.empty()) return;
    std::sort(seqs.begin(), seqs.end());
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    if (!store_) {
        acks.mark_dropped(r.rid, seqs.front());
        return;
    }
    ++stats_.ack_gaps;
    for (size_t i = 0; i < seqs.size();) {
        size_t j = i + 1;
        while (j < seqs.size() && seqs[j] == seqs[j - 1] + 1) ++j;
        int64_t lo = seqs[i], hi = seqs[j - 1];
        i = j;
        Result<std::vector<store::Message>> rows = store_->replay(r.name, lo - 1, int(hi - lo + 1));
        if (!rows.ok()) {
            acks.mark_dropped(r.rid, lo);
            continue;
        }
        for (const store::Message& m : *rows) {
            if (m.seq > hi) break;
            if (m.sender == users_[k.uid].id && m.sender_device == k.device_id) continue;
            sio::AckTag ack{layer_->new_ack_id(), r.rid, m.seq};
            if (layer_->send_frame(s, layer_->encode_event(0, "[\"message:new\"," + message_json(m) + "]", ack.id), false, &ack))
                ++stats_.messages_resent;
            else
                acks.mark_dropped(r.rid, m.seq);
        }
    }
}

// message:delivered and message:read: cumulative confirmations up to `seq`.
void Hub::on_receipt(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p, bool read) {
    Room* r = member_room(s, k, e, p);
    if (!r) return;
    int64_t seq = int_field(p, "seq", 0);
    confirm(s, k, *r, seq, read);
    reply_ok(s, e.ack_id, "\"room\":" + json_string(r->name) + ",\"seq\":" + std::to_string(seq));
}
void Hub::on_message_delivered(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) { on_receipt(s, k, e, p, false); }
void Hub::on_message_read(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) { on_receipt(s, k, e, p, true); }

void Hub::on_history_get(sio::SocketId s, Sock& k, const sio::Event& e, const cJSON* p) {
    Room* r = member_room(s, k, e, p);
    if (!r) return;
    if (!store_) return reply_error(s, e.ack_id, e.name, ErrorCode::unavailable, "no storage is attached");
    bool has_more = false;
    Result<std::vector<store::Message>> rows =
        store_->history(r->name, int_field(p, "before", -1), int_field(p, "after", -1), int(int_field(p, "limit", 50)), has_more);
    if (!rows.ok()) return reply_error(s, e.ack_id, e.name, ErrorCode::unavailable, rows.error().message);
    std::string out = "[";
    for (size_t i = 0; i < rows->size(); ++i) {
        if (i) out += ',';
        out += message_json((*rows)[i]);
    }
    reply_ok(s, e.ack_id, "\"room\":" + json_string(r->name) + ",\"messages\":" + out + "],\"hasMore\":" + (has_more ? "true" : "false"));
}

// PROTOCOL.md §7 and §13 (Connect order): per room in bytewise order an optional sync:gap and the
// replay after the device's cursor, then sync:complete. Runs before any live traffic can be
// queued for this socket, so live messages never overtake the replay.
void Hub::sync(sio::SocketId s, Sock& k, User& u) {
    if (!store_) return;
    std::vector<Room*> rs;
    for (uint32_t rid : u.rooms) rs.push_back(&rooms_[rid]);
    std::sort(rs.begin(), rs.end(), [](const Room* a, const Room* b) { return a->name < b->name; });
    std::string latest = "{";
    for (Room* r : rs) {
        if (latest.size() > 1) latest += ',';
        latest += json_string(r->name) + ":" + std::to_string(r->live_seq);
        int64_t cursor = cursor_of(u, k.device_id, *r), newest = r->live_seq;
        if (newest <= cursor) continue;
        int64_t from = cursor, gap_to = 0, replay_max = settings_.limits.replay_max;
        if (newest - cursor > replay_max) gap_to = newest - replay_max;
        int64_t oldest = store_->oldest_seq(r->name);
        if (oldest > 0 && oldest - 1 > std::max(cursor, gap_to)) gap_to = oldest - 1; // pruned by retention
        if (gap_to > cursor) {
            layer_->emit(s, "[\"sync:gap\",{\"room\":" + json_string(r->name) + ",\"fromSeq\":" + std::to_string(cursor + 1) +
                                ",\"toSeq\":" + std::to_string(gap_to) + "}]");
            from = gap_to;
        }
        // Acknowledged seqs the store found missing at start-up (storage_rollback) are a gap too.
        for (const auto& [lost_from, lost_to] : store_->lost_ranges(r->name)) {
            int64_t lo = std::max(lost_from, from + 1), hi = std::min(lost_to, newest);
            if (lo <= hi)
                layer_->emit(s, "[\"sync:gap\",{\"room\":" + json_string(r->name) + ",\"fromSeq\":" + std::to_string(lo) +
                                    ",\"toSeq\":" + std::to_string(hi) + "}]");
        }
        Result<std::vector<store::Message>> rows = store_->replay(r->name, from, int(replay_max));
        if (!rows.ok()) continue;
        for (const store::Message& m : *rows) {
            if (m.seq > newest) break;
            if (m.sender == u.id && m.sender_device == k.device_id) continue; // it has its own messages
            // Replay is one burst at connect: it may pass the send-queue limit up to twice it
            // (the transport's hard bound, 4 times, leaves room for live traffic meanwhile);
            // past that the rest of the room is a gap to page.
            size_t budget = size_t(settings_.limits.max_send_queue_bytes) * 2;
            sio::AckTag ack{layer_->new_ack_id(), r->rid, m.seq};
            if (layer_->transport().queued_bytes(s.session) < budget &&
                layer_->send_frame(s, layer_->encode_event(0, "[\"message:new\"," + message_json(m) + "]", ack.id), true, &ack))
                continue;
            layer_->emit(s, "[\"sync:gap\",{\"room\":" + json_string(r->name) + ",\"fromSeq\":" + std::to_string(m.seq) +
                                ",\"toSeq\":" + std::to_string(newest) + "}]", nullptr, nullptr, 0, 0, true);
            break;
        }
    }
    layer_->emit(s, "[\"sync:complete\",{\"rooms\":" + latest + "}}]");
}

} // namespace outpost::hub
