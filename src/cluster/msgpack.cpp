// msgpack.cpp - MessagePack values and their encoding as notepack writes them (see msgpack.h).
// Owns: Value's constructors, lookups and conversions (integers, timestamps), and Writer, which
// picks notepack's form for each value. Never: decodes bytes (msgpack_decode.cpp), knows the
// adapter's message shapes, or knows the OS.
#include "cluster/msgpack.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace outpost::cluster::msgpack {

Value Value::of_bool(bool b) {
    Value v;
    v.type = Type::boolean;
    v.boolean = b;
    return v;
}
Value Value::of_uint(uint64_t x) {
    Value v;
    v.type = Type::uint;
    v.u = x;
    return v;
}
Value Value::of_int(int64_t x) {
    if (x >= 0) return of_uint(static_cast<uint64_t>(x));
    Value v;
    v.type = Type::sint;
    v.i = x;
    return v;
}
Value Value::of_double(double x) {
    Value v;
    v.type = Type::float64;
    v.f = x;
    return v;
}
Value Value::of_str(std::string_view s) {
    Value v;
    v.type = Type::str;
    v.bytes.assign(s);
    return v;
}
Value Value::of_bin(std::string_view b) {
    Value v;
    v.type = Type::bin;
    v.bytes.assign(b);
    return v;
}
Value Value::array(std::vector<Value> items) {
    Value v;
    v.type = Type::array;
    v.items = std::move(items);
    return v;
}
Value Value::map(std::vector<Value> kv) {
    Value v;
    v.type = Type::map;
    v.items = std::move(kv);
    return v;
}

const Value* Value::find(std::string_view key) const {
    if (type != Type::map) return nullptr;
    for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
        if (items[k].type == Type::str && items[k].bytes == key) return &items[k + 1];
    }
    return nullptr;
}

bool Value::as_int64(int64_t& out) const {
    switch (type) {
    case Type::uint:
        if (u > static_cast<uint64_t>(INT64_MAX)) return false;
        out = static_cast<int64_t>(u);
        return true;
    case Type::sint: out = i; return true;
    case Type::float64:
        // 2^63 is exactly representable; every double below it in magnitude fits int64.
        if (!std::isfinite(f) || std::floor(f) != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0) return false;
        out = static_cast<int64_t>(f);
        return true;
    default: return false;
    }
}

namespace {
uint64_t read_be(const std::string& b, std::size_t at, int n) {
    uint64_t v = 0;
    for (int k = 0; k < n; ++k) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<std::size_t>(k)]);
    return v;
}
} // namespace

bool Value::as_timestamp_ms(int64_t& out) const {
    if (type != Type::ext) return false;
    if (ext_type == -1 && bytes.size() == 4) {
        out = static_cast<int64_t>(read_be(bytes, 0, 4)) * 1000;
        return true;
    }
    if (ext_type == -1 && bytes.size() == 8) {
        const uint64_t all = read_be(bytes, 0, 8);
        const uint64_t ns = all >> 34;
        const uint64_t s = all & ((uint64_t{1} << 34) - 1);
        out = static_cast<int64_t>(s) * 1000 + static_cast<int64_t>(ns / 1000000);
        return true;
    }
    if (ext_type == -1 && bytes.size() == 12) {
        const auto ns = static_cast<int64_t>(read_be(bytes, 0, 4));
        const auto s = static_cast<int64_t>(read_be(bytes, 4, 8));
        // s may be as large as int64 allows; refuse what milliseconds cannot hold.
        if (s >= INT64_MAX / 1000 || s <= INT64_MIN / 1000) return false;
        // The value is s*1000 + ns/1e6 ms; a JS Date truncates it toward zero.
        int64_t whole = s * 1000 + ns / 1000000;
        if (whole < 0 && ns % 1000000 != 0) ++whole;
        out = whole;
        return true;
    }
    if (ext_type == 0 && bytes.size() == 8) { // notepack 2's Date: int64 milliseconds
        out = static_cast<int64_t>(read_be(bytes, 0, 8));
        return true;
    }
    return false;
}

bool Value::operator==(const Value& o) const {
    if (type != o.type) return false;
    switch (type) {
    case Type::nil: return true;
    case Type::boolean: return boolean == o.boolean;
    case Type::uint: return u == o.u;
    case Type::sint: return i == o.i;
    case Type::float64: return std::bit_cast<uint64_t>(f) == std::bit_cast<uint64_t>(o.f);
    case Type::str:
    case Type::bin: return bytes == o.bytes;
    case Type::ext: return ext_type == o.ext_type && bytes == o.bytes;
    case Type::array:
    case Type::map: return items == o.items;
    }
    return false;
}

void Writer::be(uint64_t v, int bytes) {
    for (int k = bytes - 1; k >= 0; --k) put(static_cast<uint8_t>(v >> (8 * k)));
}

Writer& Writer::nil() {
    put(0xc0);
    return *this;
}
Writer& Writer::boolean(bool b) {
    put(b ? 0xc3 : 0xc2);
    return *this;
}
Writer& Writer::uinteger(uint64_t v) {
    if (v < 0x80) {
        put(static_cast<uint8_t>(v));
    } else if (v < 0x100) {
        put(0xcc);
        be(v, 1);
    } else if (v < 0x10000) {
        put(0xcd);
        be(v, 2);
    } else if (v < 0x100000000) {
        put(0xce);
        be(v, 4);
    } else {
        put(0xcf);
        be(v, 8);
    }
    return *this;
}
Writer& Writer::integer(int64_t v) {
    if (v >= 0) return uinteger(static_cast<uint64_t>(v));
    const auto bits = static_cast<uint64_t>(v);
    if (v >= -0x20) {
        put(static_cast<uint8_t>(bits));
    } else if (v >= -0x80) {
        put(0xd0);
        be(bits, 1);
    } else if (v >= -0x8000) {
        put(0xd1);
        be(bits, 2);
    } else if (v >= -0x80000000LL) {
        put(0xd2);
        be(bits, 4);
    } else {
        put(0xd3);
        be(bits, 8);
    }
    return *this;
}
Writer& Writer::number(double v) {
    if (!std::isfinite(v) || std::floor(v) != v || v < -9223372036854775808.0 || v >= 18446744073709551616.0) {
        return float64(v);
    }
    if (v >= 0) return uinteger(static_cast<uint64_t>(v)); // -0 too: notepack writes 0x00
    return integer(static_cast<int64_t>(v));
}
Writer& Writer::float64(double v) {
    put(0xcb);
    be(std::bit_cast<uint64_t>(v), 8);
    return *this;
}
Writer& Writer::str(std::string_view s) {
    const uint64_t n = s.size();
    if (n < 0x20) {
        put(static_cast<uint8_t>(0xa0 | n));
    } else if (n < 0x100) {
        put(0xd9);
        be(n, 1);
    } else if (n < 0x10000) {
        put(0xda);
        be(n, 2);
    } else {
        put(0xdb);
        be(n, 4);
    }
    out_.append(s);
    return *this;
}
Writer& Writer::bin(std::string_view b) {
    const uint64_t n = b.size();
    if (n < 0x100) {
        put(0xc4);
        be(n, 1);
    } else if (n < 0x10000) {
        put(0xc5);
        be(n, 2);
    } else {
        put(0xc6);
        be(n, 4);
    }
    out_.append(b);
    return *this;
}
Writer& Writer::array_header(uint32_t n) {
    if (n < 0x10) {
        put(static_cast<uint8_t>(0x90 | n));
    } else if (n < 0x10000) {
        put(0xdc);
        be(n, 2);
    } else {
        put(0xdd);
        be(n, 4);
    }
    return *this;
}
Writer& Writer::map_header(uint32_t n) {
    if (n < 0x10) {
        put(static_cast<uint8_t>(0x80 | n));
    } else if (n < 0x10000) {
        put(0xde);
        be(n, 2);
    } else {
        put(0xdf);
        be(n, 4);
    }
    return *this;
}
Writer& Writer::ext(int8_t type, std::string_view payload) {
    const uint64_t n = payload.size();
    switch (n) {
    case 1: put(0xd4); break;
    case 2: put(0xd5); break;
    case 4: put(0xd6); break;
    case 8: put(0xd7); break;
    case 16: put(0xd8); break;
    default:
        if (n < 0x100) {
            put(0xc7);
            be(n, 1);
        } else if (n < 0x10000) {
            put(0xc8);
            be(n, 2);
        } else {
            put(0xc9);
            be(n, 4);
        }
    }
    put(static_cast<uint8_t>(type));
    out_.append(payload);
    return *this;
}
Writer& Writer::timestamp_ms(int64_t ms) {
    // notepack: s = floor(ms / 1000), ns = (ms - s*1000) * 1e6.
    int64_t s = ms / 1000;
    if (ms % 1000 < 0) --s;
    const auto ns = static_cast<uint64_t>(ms - s * 1000) * 1000000u;
    if (s >= 0 && s <= 0x3ffffffffLL) {
        if (ns == 0 && s <= 0xffffffffLL) {
            put(0xd6);
            put(0xff);
            be(static_cast<uint64_t>(s), 4);
        } else {
            put(0xd7);
            put(0xff);
            be((ns << 34) | static_cast<uint64_t>(s), 8);
        }
    } else {
        put(0xc7);
        put(12);
        put(0xff);
        be(ns, 4);
        be(static_cast<uint64_t>(s), 8);
    }
    return *this;
}
Writer& Writer::value(const Value& v) {
    switch (v.type) {
    case Type::nil: return nil();
    case Type::boolean: return boolean(v.boolean);
    case Type::uint: return uinteger(v.u);
    case Type::sint: return integer(v.i);
    case Type::float64: return number(v.f);
    case Type::str: return str(v.bytes);
    case Type::bin: return bin(v.bytes);
    case Type::ext: return ext(v.ext_type, v.bytes);
    case Type::array:
        array_header(static_cast<uint32_t>(v.items.size()));
        for (const auto& item : v.items) value(item);
        return *this;
    case Type::map:
        map_header(static_cast<uint32_t>(v.items.size() / 2));
        for (std::size_t k = 0; k + 1 < v.items.size(); k += 2) {
            value(v.items[k]);
            value(v.items[k + 1]);
        }
        return *this;
    }
    return *this;
}

} // namespace outpost::cluster::msgpack
