// socket_layer.cpp - Socket.IO namespaces, events, acks and attachments over net::Transport.
#include "sio/socket_layer.h"

#include <cjson/cJSON.h>

#include <cstring>

#include "core/cjson_ptr.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/random_id.h"
#include "platform/platform.h"

namespace outpost::sio {
namespace {

using proto::SioPacket;
using proto::SioType;

using Json = core::CJsonPtr;

Json parse_json(std::string_view text) { return Json(cJSON_ParseWithLength(text.data(), text.size())); }

// Event names a client may not emit (they mean something to Socket.IO itself).
bool reserved_event(std::string_view name) {
    static constexpr std::string_view kReserved[] = {"connect", "connect_error", "disconnect", "disconnecting",
                                                     "newListener", "removeListener", "error"};
    for (std::string_view r : kReserved)
        if (name == r) return true;
    return false;
}

} // namespace

SocketLayer::SocketLayer(net::Transport& transport, App& app, size_t max_sessions, int64_t connect_timeout_ms,
                         size_t max_binary_bytes)
    : transport_(transport), app_(app), states_(max_sessions, core::SlotMode::mirror), connect_timeout_ms_(connect_timeout_ms),
      max_binary_bytes_(max_binary_bytes) {}

SocketLayer::~SocketLayer() = default;

SocketLayer::State* SocketLayer::state(net::SessionId id) { return states_.find(id); }

bool SocketLayer::connected(SocketId s) const {
    const State* st = states_.find(s.session);
    return st && (st->connected & (1u << s.nsp));
}

// ---------------------------------------------------------------- engine events

void SocketLayer::on_open(net::SessionId id, const net::OpenInfo& info) {
    State* slot = states_.claim(id);
    if (!slot) return;
    State& st = *slot;
    st = State();
    st.eio = uint8_t(info.eio);
    st.authorization.assign(info.authorization);
    st.query_token.assign(info.token);
    st.remote.assign(info.remote_addr);
    if (info.eio == 3) {
        // socket.io-client 2.x expects the server to connect "/" by itself (PROTOCOL.md §13); it
        // has no CONNECT payload, so its device names itself in the handshake URL.
        st.device_id.assign(info.device_id);
        ConnectRequest req{"/", nullptr, "", st.authorization, st.query_token, st.remote, 3, st.device_id};
        app_.on_connect(SocketId{id, 0}, req);
        return;
    }
    arm_connect_timeout(id, st);
}

// A session with no namespace connected is closed `connect_timeout_ms` after it opened or after
// its last namespace disconnected. One timer per session at most (CONNECT/DISCONNECT in a loop
// must not grow the timer heap): a timer that finds a later deadline re-arms for it.
void SocketLayer::arm_connect_timeout(net::SessionId id, State& st) {
    st.connect_due = transport_.now_ms() + connect_timeout_ms_;
    if (st.connect_timer) return;
    st.connect_timer = true;
    transport_.timers().schedule(st.connect_due, connect_timeout_cb, this, id.pack());
}

void SocketLayer::connect_timeout_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<SocketLayer*>(ctx);
    net::SessionId id = net::SessionId::unpack(arg);
    State* st = self->state(id);
    if (!st) return;
    st->connect_timer = false;
    if (st->connected != 0) return;
    if (now < st->connect_due) {
        st->connect_timer = true;
        self->transport_.timers().schedule(st->connect_due, connect_timeout_cb, self, arg);
        return;
    }
    self->transport_.close(id, "connect timeout");
}

void SocketLayer::on_close(net::SessionId id, std::string_view reason) {
    State* st = state(id);
    if (!st) return;
    uint32_t was = st->connected;
    st->connected = 0;
    states_.release(id);
    for (uint8_t n = 0; n < 32; ++n)
        if (was & (1u << n)) app_.on_disconnect(SocketId{id, n}, reason);
    for (const PendingAck& a : st->acks) a.fn(a.ctx, SocketId{id, a.nsp}, a.token, nullptr);
    st->acks.clear();
    st->app_acks.clear();
    st->binary = Binary();
    st->authorization.clear();
    st->query_token.clear();
    st->device_id.clear();
}

void SocketLayer::protocol_error(net::SessionId id, const char* what) {
    ++stats_.malformed_packets;
    OUTPOST_LOG(info, "protocol_error", "session=%u what=\"%s\"", id.index, what);
    transport_.close(id, what);
    // Nothing more from this session is interpreted (the rest of a polling payload included).
    if (State* st = state(id)) {
        st->failed = true;
        st->binary = Binary();
    }
}

void SocketLayer::on_message(net::SessionId id, const proto::EioPacket& packet) {
    State* st = state(id);
    if (!st || st->failed) return;
    if (packet.binary) {
        Binary& b = st->binary;
        if (!b.active) return protocol_error(id, "binary frame without a pending packet");
        b.bytes += packet.data.size();
        if (b.bytes > max_binary_bytes_) {
            ++stats_.binary_cut;
            OUTPOST_LOG(info, "binary_too_large", "session=%u attachments=%zu/%u bytes=%zu limit=%zu", id.index,
                        b.parts.size() + 1, b.expected, b.bytes, max_binary_bytes_);
            return protocol_error(id, "binary packet and attachments over max_payload");
        }
        b.parts.emplace_back(packet.data);
        if (b.parts.size() < b.expected) return;
        SioPacket p{b.type, app_.namespace_name(b.nsp), b.id, b.expected, b.data};
        Binary done = std::move(b);
        b = Binary();
        p.data = done.data;
        return handle_packet(id, *st, p, &done.parts);
    }
    if (st->binary.active) return protocol_error(id, "text packet while attachments are pending");
    Result<SioPacket> r = proto::socket_io::decode_packet(packet.data);
    if (!r.ok()) return protocol_error(id, "undecodable Socket.IO packet");
    handle_packet(id, *st, *r, nullptr);
}

void SocketLayer::handle_packet(net::SessionId id, State& st, const SioPacket& p, const std::vector<std::string>* parts) {
    std::string_view path, query;
    proto::split_nsp(p.nsp, path, query);
    int idx = app_.namespace_index(path);
    if (p.type == SioType::connect) return on_connect_packet(id, st, p, uint8_t(idx < 0 ? 255 : idx), query);
    if (idx < 0 || !(st.connected & (1u << idx))) return protocol_error(id, "packet for a namespace not connected");
    uint8_t nsp = uint8_t(idx);
    switch (p.type) {
    case SioType::disconnect: {
        // Ends that Socket.IO socket only: the Engine.IO session stays (heartbeats go on) and
        // may CONNECT again, within the connect timeout once no namespace is left.
        st.connected &= ~(1u << nsp);
        app_.on_disconnect(SocketId{id, nsp}, "client namespace disconnect");
        if (State* again = state(id); again && again->connected == 0) arm_connect_timeout(id, *again);
        return;
    }
    case SioType::event:
    case SioType::binary_event:
        if (p.type == SioType::binary_event && !parts) return start_binary(id, st, p, nsp);
        return on_event_packet(id, st, p, nsp, parts);
    case SioType::ack:
    case SioType::binary_ack:
        if (p.type == SioType::binary_ack && !parts) return start_binary(id, st, p, nsp);
        return on_ack_packet(id, st, p, nsp);
    default:
        return protocol_error(id, "unexpected packet type from a client");
    }
}

// A binary packet waits for its attachments, within max_binary_bytes_ and connect_timeout_ms_.
// One timer per session at most: when it fires for a packet already completed it re-arms for
// the packet pending then, if any.
void SocketLayer::start_binary(net::SessionId id, State& st, const SioPacket& p, uint8_t nsp) {
    st.binary = Binary{true, p.type, nsp, p.id, p.attachments, p.data.size(), transport_.now_ms() + connect_timeout_ms_,
                       std::string(p.data), {}};
    if (st.binary_timer) return;
    st.binary_timer = true;
    transport_.timers().schedule(st.binary.due, binary_timeout_cb, this, id.pack());
}

void SocketLayer::binary_timeout_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<SocketLayer*>(ctx);
    net::SessionId id = net::SessionId::unpack(arg);
    State* st = self->state(id);
    if (!st) return;
    st->binary_timer = false;
    if (!st->binary.active || st->failed) return;
    if (now < st->binary.due) {
        st->binary_timer = true;
        self->transport_.timers().schedule(st->binary.due, binary_timeout_cb, self, arg);
        return;
    }
    ++self->stats_.binary_cut;
    OUTPOST_LOG(info, "binary_incomplete", "session=%u attachments=%zu/%u bytes=%zu after_ms=%lld", id.index,
                st->binary.parts.size(), st->binary.expected, st->binary.bytes, (long long)self->connect_timeout_ms_);
    self->protocol_error(id, "binary packet not completed within connect_timeout_ms");
}

// A session stops being read, and is closed, after kMaxConnectRefusals refused CONNECTs.
void SocketLayer::count_refusal(net::SessionId id, State& st) {
    if (++st.refusals < kMaxConnectRefusals || st.failed) return;
    ++stats_.refusal_cut;
    if (stats_.refusal_cut == 1 || stats_.refusal_cut % 100 == 0) // at most one line per 100 sessions
        OUTPOST_LOG(info, "connect_refusals_cut", "session=%u refusals=%u sessions_cut=%llu", id.index, st.refusals,
                    (unsigned long long)stats_.refusal_cut);
    st.failed = true; // the rest of a polling payload is not read
    st.binary = Binary();
    transport_.close(id, "too many refused CONNECTs");
}

void SocketLayer::on_connect_packet(net::SessionId id, State& st, const SioPacket& p, uint8_t idx, std::string_view query) {
    std::string_view path, q;
    proto::split_nsp(p.nsp, path, q);
    Json auth;
    if (!p.data.empty()) {
        auth = parse_json(p.data);
        if (!auth || !cJSON_IsObject(auth.get())) return protocol_error(id, "CONNECT payload is not an object");
    }
    if (idx == 255) {
        std::string why;
        core::JsonWriter(why).begin_object().member("message", "Invalid namespace").end_object();
        SioPacket e{SioType::connect_error, path, -1, 0, std::move(why)};
        send_packet(SocketId{id, 0}, e);
        count_refusal(id, st);
        return;
    }
    if (st.connected & (1u << idx)) return; // already connected: nothing to do
    std::string token;
    if (!query.empty()) proto::query_param(query, "token", token);
    if (token.empty()) token = st.query_token;
    ConnectRequest req{path, auth.get(), p.data, st.authorization, token, st.remote, st.eio, st.device_id};
    app_.on_connect(SocketId{id, idx}, req);
}

void SocketLayer::on_event_packet(net::SessionId id, State&, const SioPacket& p, uint8_t nsp, const std::vector<std::string>* parts) {
    Json args = parse_json(p.data);
    if (!args || !cJSON_IsArray(args.get()) || cJSON_GetArraySize(args.get()) < 1)
        return protocol_error(id, "event payload is not a non-empty array");
    const cJSON* name = cJSON_GetArrayItem(args.get(), 0);
    if (!cJSON_IsString(name) || reserved_event(name->valuestring)) return protocol_error(id, "bad event name");
    if (p.type == SioType::binary_event && proto::check_placeholders(args.get(), p.attachments) != Status::ok)
        return protocol_error(id, "bad attachment placeholders");
    Event e{name->valuestring, args.get(), p.data, p.id, parts};
    app_.on_event(SocketId{id, nsp}, e);
}

void SocketLayer::on_ack_packet(net::SessionId id, State& st, const SioPacket& p, uint8_t nsp) {
    Json args = parse_json(p.data.empty() ? std::string_view("[]") : p.data);
    if (!args || !cJSON_IsArray(args.get())) return protocol_error(id, "ack payload is not an array");
    if (p.type == SioType::binary_ack && proto::check_placeholders(args.get(), p.attachments) != Status::ok)
        return protocol_error(id, "bad attachment placeholders");
    for (size_t i = 0; i < st.acks.size(); ++i) {
        if (st.acks[i].id != p.id || st.acks[i].nsp != nsp) continue;
        PendingAck a = st.acks[i];
        st.acks[i] = st.acks.back();
        st.acks.pop_back();
        a.fn(a.ctx, SocketId{id, nsp}, a.token, args.get());
        return;
    }
    AckTag tag, earlier[kMaxEarlierAcks];
    uint32_t n_earlier = 0;
    if (nsp == 0 && p.id <= kMaxServerAckId && st.app_acks.take(uint32_t(p.id), tag, earlier, kMaxEarlierAcks, &n_earlier)) {
        app_.on_app_ack(SocketId{id, nsp}, tag, args.get(), earlier, n_earlier);
        return;
    }
    // An ack nobody waits for (late, dropped from the table, or duplicated): ignored, as
    // Socket.IO does.
}

void SocketLayer::ack_timeout_cb(void* ctx, uint64_t arg, int64_t now) {
    auto* self = static_cast<SocketLayer*>(ctx);
    net::SessionId id = net::SessionId::unpack(arg);
    State* st = self->state(id);
    if (!st) return;
    for (size_t i = 0; i < st->acks.size();) {
        if (st->acks[i].deadline > now) {
            ++i;
            continue;
        }
        PendingAck a = st->acks[i];
        st->acks[i] = st->acks.back();
        st->acks.pop_back();
        ++self->stats_.acks_timed_out;
        a.fn(a.ctx, SocketId{id, a.nsp}, a.token, nullptr);
        st = self->state(id);
        if (!st) return;
    }
}

// ---------------------------------------------------------------- for the App

bool SocketLayer::send_packet(SocketId s, const SioPacket& p, bool bypass_limit) {
    encoded_.clear(); // reused: no allocation per packet once grown
    proto::encode_packet(encoded_, p);
    return transport_.send(s.session, pool::FrameRef::text_packet('4', encoded_), bypass_limit);
}

bool SocketLayer::send_attachments(SocketId s, const std::vector<std::string>& attachments) {
    for (const std::string& a : attachments)
        if (!transport_.send(s.session, pool::FrameRef::copy_of(a, true))) return false;
    return true;
}

std::string SocketLayer::accept(SocketId s) {
    State* st = state(s.session);
    if (!st) return {};
    st->connected |= 1u << s.nsp;
    ++stats_.sockets_connected;
    std::string sid = core::random_id(), payload;
    if (st->eio == 4) core::JsonWriter(payload).begin_object().member("sid", sid).end_object();
    send_packet(s, SioPacket{SioType::connect, app_.namespace_name(s.nsp), -1, 0, payload});
    return sid;
}

void SocketLayer::refuse(SocketId s, std::string_view data_json) {
    State* st = state(s.session);
    if (!st) return;
    ++stats_.connects_refused;
    send_packet(s, SioPacket{SioType::connect_error, app_.namespace_name(s.nsp), -1, 0, data_json}, true);
    if (st->eio == 3 && st->connected == 0) transport_.close(s.session, "connect refused");
    else count_refusal(s.session, *st);
}

bool SocketLayer::emit(SocketId s, std::string_view array_json, AckFn fn, void* ctx, uint64_t token, int64_t timeout_ms,
                       bool bypass_limit) {
    State* st = state(s.session);
    if (!st || !(st->connected & (1u << s.nsp))) return false;
    SioPacket p{SioType::event, app_.namespace_name(s.nsp), -1, 0, array_json};
    if (fn) {
        p.id = new_ack_id();
        int64_t deadline = transport_.now_ms() + timeout_ms;
        st->acks.push_back(PendingAck{p.id, deadline, s.nsp, fn, ctx, token});
        transport_.timers().schedule(deadline, ack_timeout_cb, this, s.session.pack());
    }
    return send_packet(s, p, bypass_limit);
}

bool SocketLayer::emit_binary(SocketId s, std::string_view array_json, const std::vector<std::string>& attachments) {
    if (!connected(s)) return false;
    SioPacket p{SioType::binary_event, app_.namespace_name(s.nsp), -1, uint32_t(attachments.size()), array_json};
    return send_packet(s, p) && send_attachments(s, attachments);
}

bool SocketLayer::ack(SocketId s, int64_t id, std::string_view array_json) {
    if (!connected(s) || id < 0) return false;
    return send_packet(s, SioPacket{SioType::ack, app_.namespace_name(s.nsp), id, 0, array_json});
}

bool SocketLayer::ack_binary(SocketId s, int64_t id, std::string_view array_json, const std::vector<std::string>& attachments) {
    if (!connected(s) || id < 0) return false;
    SioPacket p{SioType::binary_ack, app_.namespace_name(s.nsp), id, uint32_t(attachments.size()), array_json};
    return send_packet(s, p) && send_attachments(s, attachments);
}

void SocketLayer::disconnect(SocketId s, bool close_session) {
    State* st = state(s.session);
    if (!st || !(st->connected & (1u << s.nsp))) return;
    send_packet(s, SioPacket{SioType::disconnect, app_.namespace_name(s.nsp), -1, 0, {}}, true);
    st->connected &= ~(1u << s.nsp);
    app_.on_disconnect(s, "server namespace disconnect");
    if (close_session || st->connected == 0) transport_.close(s.session, "server disconnect");
}

uint32_t SocketLayer::new_ack_id() {
    last_ack_id_ = next_ack_id(last_ack_id_);
    return last_ack_id_;
}

pool::FrameRef SocketLayer::encode_event(uint8_t nsp, std::string_view array_json, int64_t ack_id) const {
    std::string text;
    proto::encode_packet(text, SioPacket{SioType::event, app_.namespace_name(nsp), ack_id, 0, array_json});
    return pool::FrameRef::text_packet('4', text);
}

AckTable* SocketLayer::app_acks(SocketId s) {
    if (s.nsp != 0 || !connected(s)) return nullptr;
    State* st = state(s.session);
    return st ? &st->app_acks : nullptr;
}

bool SocketLayer::send_frame(SocketId s, const pool::FrameRef& frame, bool bypass_limit, const AckTag* ack) {
    if (!connected(s)) return false;
    if (!transport_.send(s.session, frame, bypass_limit)) return false;
    if (ack && s.nsp == 0) // (acks are looked up for "/" only: the App's namespace)
        if (State* st = state(s.session)) st->app_acks.put(*ack);
    return true;
}

} // namespace outpost::sio
