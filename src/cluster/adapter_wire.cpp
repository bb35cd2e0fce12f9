// adapter_wire.cpp - The redis-adapter's messages to and from bytes (see adapter_wire.h).
// Every message is built as a msgpack::Value with the adapter's key order, then written as
// msgpack or JSON; every message read is parsed into a Value (bounded), then checked field by field.
// The Value <-> JSON text conversion itself lives in value_json.cpp.
#include "cluster/adapter_wire.h"

namespace outpost::cluster::wire {

namespace {

Value str(std::string_view s) { return Value::of_str(s); }

Value str_array(const std::vector<std::string>& v) {
    std::vector<Value> items;
    items.reserve(v.size());
    for (const auto& s : v) items.push_back(str(s));
    return Value::array(std::move(items));
}

void put(Value& map, std::string_view key, Value v) {
    map.items.push_back(str(key));
    map.items.push_back(std::move(v));
}

Value flags_value(const Flags& f) {
    Value m = Value::map();
    if (f.is_volatile) put(m, "volatile", Value::of_bool(*f.is_volatile));
    if (f.compress) put(m, "compress", Value::of_bool(*f.compress));
    if (f.local) put(m, "local", Value::of_bool(*f.local));
    if (f.broadcast) put(m, "broadcast", Value::of_bool(*f.broadcast));
    if (f.binary) put(m, "binary", Value::of_bool(*f.binary));
    if (f.expect_single_response) put(m, "expectSingleResponse", Value::of_bool(*f.expect_single_response));
    if (f.timeout) put(m, "timeout", Value::of_double(*f.timeout));
    return m;
}

Value packet_value(const Packet& p) {
    Value m = Value::map();
    put(m, "type", Value::of_int(p.type));
    put(m, "data", p.data);
    put(m, "nsp", str(p.nsp));
    if (p.id) put(m, "id", Value::of_uint(*p.id));
    return m;
}

Value rooms_except(const RoomsExcept& o) {
    Value m = Value::map();
    put(m, "rooms", str_array(o.rooms));
    put(m, "except", str_array(o.except));
    return m;
}

// ---- reading ----

struct Reader {
    std::string& error;
    bool fail(std::string what) {
        error = std::move(what);
        return false;
    }
    const Value* field(const Value& m, std::string_view key, bool required) {
        const Value* v = m.find(key);
        if (!v && required) fail("missing \"" + std::string(key) + "\"");
        return v;
    }
    bool string(const Value& m, std::string_view key, std::string& out) {
        const Value* v = field(m, key, true);
        if (!v) return false;
        if (v->type != msgpack::Type::str) return fail("\"" + std::string(key) + "\" is not a string");
        out = v->bytes;
        return true;
    }
    bool opt_string(const Value& m, std::string_view key, std::optional<std::string>& out) {
        const Value* v = field(m, key, false);
        if (!v || v->type == msgpack::Type::nil) return true;
        if (v->type != msgpack::Type::str) return fail("\"" + std::string(key) + "\" is not a string");
        out = v->bytes;
        return true;
    }
    // A room: a string, or an integer (socket.io allows numeric rooms), kept in decimal.
    bool room(const Value& v, std::string& out) {
        if (v.type == msgpack::Type::str) {
            out = v.bytes;
            return true;
        }
        int64_t n = 0;
        if (v.as_int64(n)) {
            out = std::to_string(n);
            return true;
        }
        if (v.type == msgpack::Type::uint) {
            out = std::to_string(v.u);
            return true;
        }
        return fail("a room is neither a string nor an integer");
    }
    bool rooms(const Value* v, std::string_view key, std::vector<std::string>& out) {
        out.clear();
        if (!v || v->type == msgpack::Type::nil) return true; // new Set(undefined) is empty
        if (v->type != msgpack::Type::array) return fail("\"" + std::string(key) + "\" is not an array");
        out.resize(v->items.size());
        for (std::size_t k = 0; k < v->items.size(); ++k) {
            if (!room(v->items[k], out[k])) return false;
        }
        return true;
    }
    bool rooms_except(const Value* v, RoomsExcept& out) {
        if (!v || v->type != msgpack::Type::map) return fail("\"opts\" is not an object");
        return rooms(v->find("rooms"), "rooms", out.rooms) && rooms(v->find("except"), "except", out.except);
    }
    bool flags(const Value* v, std::optional<Flags>& out) {
        out.reset();
        if (!v || v->type == msgpack::Type::nil) return true;
        if (v->type != msgpack::Type::map) return fail("\"flags\" is not an object");
        Flags f;
        auto flag = [&](std::string_view key, std::optional<bool>& dst) {
            const Value* b = v->find(key);
            if (!b || b->type == msgpack::Type::nil) return true;
            if (b->type != msgpack::Type::boolean) return fail("flag \"" + std::string(key) + "\" is not a boolean");
            dst = b->boolean;
            return true;
        };
        if (!flag("volatile", f.is_volatile) || !flag("compress", f.compress) || !flag("local", f.local) ||
            !flag("broadcast", f.broadcast) || !flag("binary", f.binary) ||
            !flag("expectSingleResponse", f.expect_single_response)) {
            return false;
        }
        if (const Value* t = v->find("timeout"); t && t->type != msgpack::Type::nil) {
            if (t->type == msgpack::Type::float64) {
                f.timeout = t->f;
            } else if (t->type == msgpack::Type::uint) {
                f.timeout = static_cast<double>(t->u);
            } else if (t->type == msgpack::Type::sint) {
                f.timeout = static_cast<double>(t->i);
            } else {
                return fail("flag \"timeout\" is not a number");
            }
        }
        out = f;
        return true;
    }
    bool packet(const Value* v, Packet& out) {
        if (!v || v->type != msgpack::Type::map) return fail("the packet is not an object");
        const Value* t = v->find("type");
        int64_t type = 0;
        if (!t || !t->as_int64(type) || type < 0 || type > 6) return fail("the packet's \"type\" is not 0-6");
        out.type = static_cast<int>(type);
        const Value* data = v->find("data");
        out.data = data ? *data : Value::nil();
        out.nsp = "/"; // the adapter reads a packet without nsp as "/"
        if (!opt_nsp(*v, out.nsp)) return false;
        out.id.reset();
        if (const Value* id = v->find("id"); id && id->type != msgpack::Type::nil) {
            int64_t n = 0;
            if (!id->as_int64(n) || n < 0) return fail("the packet's \"id\" is not a non-negative integer");
            out.id = static_cast<uint64_t>(n);
        }
        return true;
    }
    bool opt_nsp(const Value& m, std::string& nsp) {
        const Value* v = m.find("nsp");
        if (!v || v->type == msgpack::Type::nil) return true;
        if (v->type != msgpack::Type::str) return fail("the packet's \"nsp\" is not a string");
        nsp = v->bytes;
        return true;
    }
};

bool parse_any(std::string_view bytes, const msgpack::Limits& limits, Value& out, std::string& error) {
    if (!bytes.empty() && bytes[0] == '{') return json_to_value(bytes, limits, out, error);
    auto r = msgpack::decode(bytes, limits);
    if (!r.ok) {
        error = "msgpack: " + r.error;
        return false;
    }
    out = std::move(r.value);
    return true;
}

} // namespace

Channels channels(std::string_view prefix, std::string_view nsp) {
    Channels c;
    c.broadcast.append(prefix).append("#").append(nsp).append("#");
    c.request.append(prefix).append("-request#").append(nsp).append("#");
    c.response.append(prefix).append("-response#").append(nsp).append("#");
    return c;
}

std::string room_channel(std::string_view prefix, std::string_view nsp, std::string_view room) {
    std::string c;
    c.append(prefix).append("#").append(nsp).append("#").append(room).append("#");
    return c;
}

bool room_of_channel(std::string_view broadcast_channel, std::string_view channel, std::string& room) {
    if (!channel.starts_with(broadcast_channel)) return false;
    if (channel.size() == broadcast_channel.size()) {
        room.clear();
        return true;
    }
    if (channel.back() != '#') return false;
    // The adapter takes channel.slice(prefix.length, -1): everything up to the last byte.
    room.assign(channel.substr(broadcast_channel.size(), channel.size() - broadcast_channel.size() - 1));
    return true;
}

std::string broadcast_channel(std::string_view prefix, const Broadcast& b) {
    if (b.opts.rooms.size() == 1) return room_channel(prefix, b.packet.nsp, b.opts.rooms[0]);
    return channels(prefix, b.packet.nsp).broadcast;
}

std::string encode_broadcast(const Broadcast& b) {
    Value opts = Value::map();
    put(opts, "rooms", str_array(b.opts.rooms));
    put(opts, "except", str_array(b.opts.except));
    if (b.opts.flags) put(opts, "flags", flags_value(*b.opts.flags));
    return msgpack::encode(Value::array({str(b.uid), packet_value(b.packet), std::move(opts)}));
}

bool decode_broadcast(std::string_view bytes, const msgpack::Limits& limits, Broadcast& out, std::string& error) {
    auto r = msgpack::decode(bytes, limits);
    if (!r.ok) {
        error = "msgpack: " + r.error;
        return false;
    }
    Reader rd{error};
    const Value& v = r.value;
    if (v.type != msgpack::Type::array || v.items.size() != 3) return rd.fail("a broadcast is not [uid, packet, opts]");
    if (v.items[0].type != msgpack::Type::str) return rd.fail("the broadcast's uid is not a string");
    out.uid = v.items[0].bytes;
    if (!rd.packet(&v.items[1], out.packet)) return false;
    const Value& o = v.items[2];
    if (o.type != msgpack::Type::map) return rd.fail("the broadcast's opts is not an object");
    return rd.rooms(o.find("rooms"), "rooms", out.opts.rooms) && rd.rooms(o.find("except"), "except", out.opts.except) &&
           rd.flags(o.find("flags"), out.opts.flags);
}

bool encode_request(const Request& r, std::string& out, std::string& error) {
    Value m = Value::map();
    put(m, "uid", str(r.uid));
    const bool has_id = r.type == RequestType::sockets || r.type == RequestType::all_rooms ||
                        r.type == RequestType::remote_fetch || r.type == RequestType::broadcast ||
                        r.type == RequestType::server_side_emit || r.sid.has_value();
    if (has_id && r.request_id) put(m, "requestId", str(*r.request_id));
    put(m, "type", Value::of_uint(static_cast<uint8_t>(r.type)));
    switch (r.type) {
    case RequestType::sockets: put(m, "rooms", str_array(r.rooms)); break;
    case RequestType::remote_join:
    case RequestType::remote_leave:
    case RequestType::remote_disconnect:
        if (r.sid) { // the older single-socket form
            put(m, "sid", str(*r.sid));
            if (r.type == RequestType::remote_disconnect) {
                put(m, "close", Value::of_bool(r.close.value_or(false)));
            } else {
                put(m, "room", str(r.room.value_or("")));
            }
            break;
        }
        put(m, "opts", rooms_except(r.opts));
        if (r.type == RequestType::remote_disconnect) {
            if (r.close) put(m, "close", Value::of_bool(*r.close));
        } else {
            put(m, "rooms", str_array(r.rooms));
        }
        break;
    case RequestType::remote_fetch: put(m, "opts", rooms_except(r.opts)); break;
    case RequestType::server_side_emit: put(m, "data", r.data); break;
    case RequestType::broadcast: {
        put(m, "packet", packet_value(r.packet));
        Value opts = rooms_except(r.opts);
        if (r.flags) put(opts, "flags", flags_value(*r.flags));
        put(m, "opts", std::move(opts));
        out = msgpack::encode(m);
        return true;
    }
    default: break;
    }
    out.clear();
    return value_to_json(m, out, error);
}

bool encode_response(const Response& r, std::string& out, std::string& error) {
    Value m = Value::map();
    switch (r.answers) {
    case RequestType::server_side_emit:
        put(m, "type", Value::of_uint(6));
        put(m, "requestId", str(r.request_id));
        put(m, "data", r.data);
        break;
    case RequestType::broadcast_client_count:
        put(m, "type", Value::of_uint(8));
        put(m, "requestId", str(r.request_id));
        put(m, "clientCount", Value::of_uint(r.client_count));
        break;
    case RequestType::broadcast_ack:
        put(m, "type", Value::of_uint(9));
        put(m, "requestId", str(r.request_id));
        put(m, "packet", r.data);
        out = msgpack::encode(m);
        return true;
    default:
        put(m, "requestId", str(r.request_id));
        if (r.answers == RequestType::sockets) {
            put(m, "sockets", str_array(r.sids));
        } else if (r.answers == RequestType::all_rooms) {
            put(m, "rooms", str_array(r.rooms));
        } else if (r.answers == RequestType::remote_fetch) {
            std::vector<Value> list;
            for (const auto& s : r.sockets) {
                Value so = Value::map();
                put(so, "id", str(s.id));
                put(so, "handshake", s.handshake);
                put(so, "rooms", str_array(s.rooms));
                if (s.data.type != msgpack::Type::nil) put(so, "data", s.data);
                list.push_back(std::move(so));
            }
            put(m, "sockets", Value::array(std::move(list)));
        }
        break;
    }
    out.clear();
    return value_to_json(m, out, error);
}

bool decode_request(std::string_view bytes, const msgpack::Limits& limits, Request& out, std::string& error) {
    Value v;
    if (!parse_any(bytes, limits, v, error)) return false;
    Reader rd{error};
    if (v.type != msgpack::Type::map) return rd.fail("a request is not an object");
    const Value* t = v.find("type");
    int64_t type = -1;
    if (!t || !t->as_int64(type) || type < 0 || type > 7) return rd.fail("the request's \"type\" is not 0-7");
    out = Request{};
    out.type = static_cast<RequestType>(type);
    if (!rd.string(v, "uid", out.uid) || !rd.opt_string(v, "requestId", out.request_id)) return false;
    switch (out.type) {
    case RequestType::sockets: return rd.rooms(v.find("rooms"), "rooms", out.rooms);
    case RequestType::all_rooms: return true;
    case RequestType::remote_join:
    case RequestType::remote_leave:
    case RequestType::remote_disconnect: {
        if (const Value* c = v.find("close"); c && c->type != msgpack::Type::nil) {
            if (c->type != msgpack::Type::boolean) return rd.fail("\"close\" is not a boolean");
            out.close = c->boolean;
        }
        if (const Value* o = v.find("opts"); o && o->type != msgpack::Type::nil) {
            return rd.rooms_except(o, out.opts) && rd.rooms(v.find("rooms"), "rooms", out.rooms);
        }
        if (!rd.opt_string(v, "sid", out.sid) || !rd.opt_string(v, "room", out.room)) return false;
        if (!out.sid) return rd.fail("a request of type 2-4 has neither \"opts\" nor \"sid\"");
        return true;
    }
    case RequestType::remote_fetch:
        if (!out.request_id) return rd.fail("missing \"requestId\"");
        return rd.rooms_except(v.find("opts"), out.opts);
    case RequestType::server_side_emit: {
        const Value* d = v.find("data");
        if (!d || d->type != msgpack::Type::array) return rd.fail("\"data\" is not an array");
        out.data = *d;
        return true;
    }
    case RequestType::broadcast: {
        if (!out.request_id) return rd.fail("missing \"requestId\"");
        const Value* o = v.find("opts");
        return rd.packet(v.find("packet"), out.packet) && rd.rooms_except(o, out.opts) && rd.flags(o->find("flags"), out.flags);
    }
    default: return rd.fail("the request's \"type\" is not 0-7");
    }
}

bool response_request_id(std::string_view bytes, const msgpack::Limits& limits, std::string& id, std::string& error) {
    Value v;
    if (!parse_any(bytes, limits, v, error)) return false;
    Reader rd{error};
    if (v.type != msgpack::Type::map) return rd.fail("an answer is not an object");
    return rd.string(v, "requestId", id);
}

bool decode_response(std::string_view bytes, const msgpack::Limits& limits, RequestType pending, Response& out,
                     std::string& error) {
    Value v;
    if (!parse_any(bytes, limits, v, error)) return false;
    Reader rd{error};
    if (v.type != msgpack::Type::map) return rd.fail("an answer is not an object");
    out = Response{};
    if (!rd.string(v, "requestId", out.request_id)) return false;
    // The adapter routes 8 and 9 by their own type before looking at the pending request.
    if (const Value* t = v.find("type"); t && t->type != msgpack::Type::nil) {
        int64_t type = -1;
        if (!t->as_int64(type) || (type != 6 && type != 8 && type != 9)) return rd.fail("an answer's \"type\" is not 6, 8 or 9");
        out.answers = static_cast<RequestType>(type);
    } else {
        out.answers = pending;
    }
    switch (out.answers) {
    case RequestType::sockets: {
        const Value* s = v.find("sockets");
        if (!s || s->type != msgpack::Type::array) return rd.fail("\"sockets\" is not an array");
        return rd.rooms(s, "sockets", out.sids);
    }
    case RequestType::all_rooms: return rd.rooms(rd.field(v, "rooms", true), "rooms", out.rooms);
    case RequestType::remote_fetch: {
        const Value* s = v.find("sockets");
        if (!s || s->type != msgpack::Type::array) return rd.fail("\"sockets\" is not an array");
        for (const auto& item : s->items) {
            if (item.type != msgpack::Type::map) return rd.fail("a socket is not an object");
            RemoteSocket so;
            if (!rd.string(item, "id", so.id) || !rd.rooms(item.find("rooms"), "rooms", so.rooms)) return false;
            if (const Value* h = item.find("handshake")) so.handshake = *h;
            if (const Value* d = item.find("data")) so.data = *d;
            out.sockets.push_back(std::move(so));
        }
        return true;
    }
    case RequestType::server_side_emit:
        if (const Value* d = v.find("data")) out.data = *d;
        return true;
    case RequestType::broadcast_client_count: {
        const Value* c = rd.field(v, "clientCount", true);
        int64_t n = 0;
        if (!c || !c->as_int64(n) || n < 0) return rd.fail("\"clientCount\" is not a non-negative integer");
        out.client_count = static_cast<uint64_t>(n);
        return true;
    }
    case RequestType::broadcast_ack:
        if (const Value* p = v.find("packet")) out.data = *p;
        return true;
    default: return true; // 2/3/4 older form: {requestId} only
    }
}

} // namespace outpost::cluster::wire
