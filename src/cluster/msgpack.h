// msgpack.h - MessagePack as notepack.io 3.0 writes it and reads it: the encoding of the Socket.IO
// Redis adapter's broadcasts and of its request types 7 and 9.
// Owns: the byte format (https://github.com/msgpack/msgpack/blob/master/spec.md), the choice of
// form for each value exactly as notepack makes it, and a bounded decoder. Never: knows the
// adapter's message shapes (adapter_wire.h), sockets, or the OS.
//
// Encoding mirrors notepack: an integer takes the smallest of positive fixint, uint8..64 (when
// >= 0) or negative fixint, int8..64 (when < 0); a JS number that is not an integer (or not
// finite) is float64; -0 is the integer 0; strings pick fixstr/str8/16/32 and Buffers
// bin8/16/32 by length; arrays fixarray/array16/32; maps fixmap/map16/32 with their keys in
// the order given; a Date is the timestamp extension (type -1, 32/64/96-bit forms).
//
// Decoding takes a byte span and Limits: nesting depth, total element count (array items plus
// map entries, summed over the whole value) and total bytes. It refuses truncated input,
// trailing bytes, the reserved byte 0xc1, and anything over a limit, each with a message saying
// what and where. Recursion is bounded by Limits::max_depth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::cluster::msgpack {

enum class Type : uint8_t {
    nil,
    boolean,
    uint,   // positive fixint, uint8..64
    sint,   // negative fixint, int8..64
    float64, // float64 (and float32, widened)
    str,
    bin,
    array,
    map,
    ext,
};

// A decoded value. Arrays hold their items in `items`; maps hold key, value, key, value... in
// `items` in wire order (keys are any value, as the format allows).
struct Value {
    Type type = Type::nil;
    bool boolean = false;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0;
    int8_t ext_type = 0;
    std::string bytes; // str, bin, ext payload
    std::vector<Value> items;

    static Value nil() { return {}; }
    static Value of_bool(bool b);
    static Value of_uint(uint64_t v);
    static Value of_int(int64_t v); // stored as uint when >= 0, so equal values compare equal
    static Value of_double(double v);
    static Value of_str(std::string_view s);
    static Value of_bin(std::string_view b);
    static Value array(std::vector<Value> items = {});
    static Value map(std::vector<Value> kv = {});

    std::size_t size() const { return type == Type::map ? items.size() / 2 : items.size(); }
    // For a map: the value of the first str key equal to `key`, or nullptr.
    const Value* find(std::string_view key) const;
    // The integer value if this is an integer (or a float64 holding an exact integer) within
    // int64, as JS code sees numbers.
    bool as_int64(int64_t& out) const;
    // A Date: the timestamp extension (type -1, 4/8/12 bytes) or notepack's older fixext8
    // type 0; milliseconds since the epoch (notepack's Date resolution).
    bool as_timestamp_ms(int64_t& out) const;

    bool operator==(const Value& o) const;
};

struct Limits {
    uint32_t max_depth = 32;          // nested arrays/maps; the top-level value is depth 1
    uint32_t max_elements = 100000;   // array items + map entries, over the whole value
    std::size_t max_bytes = 1u << 20; // the input, in bytes
};

struct DecodeResult {
    bool ok = false;
    Value value;
    std::string error; // when !ok: what was wrong and at which byte offset
};

DecodeResult decode(std::span<const uint8_t> in, const Limits& limits = {});
inline DecodeResult decode(std::string_view in, const Limits& limits = {}) {
    return decode(std::span(reinterpret_cast<const uint8_t*>(in.data()), in.size()), limits);
}

// Appends MessagePack to a string, one call per value or header, choosing forms as notepack.
// Lengths and counts must be below 2^32 (the format's limit; notepack throws there): callers
// pass values already bounded far below it.
class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}

    Writer& nil();
    Writer& boolean(bool b);
    Writer& integer(int64_t v);
    Writer& uinteger(uint64_t v);
    // A JS number: integral values in [-2^63, 2^64) as integers, others as float64. (notepack
    // wraps integral values outside that range; no JS program sends those on purpose.)
    Writer& number(double v);
    Writer& float64(double v);
    Writer& str(std::string_view s);
    Writer& bin(std::string_view b);
    Writer& array_header(uint32_t n);
    Writer& map_header(uint32_t n);
    Writer& ext(int8_t type, std::string_view payload);
    // A JS Date at `ms` since the epoch, as notepack writes it.
    Writer& timestamp_ms(int64_t ms);
    // Any decoded value, in notepack's canonical forms.
    Writer& value(const Value& v);

private:
    void put(uint8_t b) { out_.push_back(static_cast<char>(b)); }
    void be(uint64_t v, int bytes);
    std::string& out_;
};

inline std::string encode(const Value& v) {
    std::string s;
    Writer(s).value(v);
    return s;
}

} // namespace outpost::cluster::msgpack
