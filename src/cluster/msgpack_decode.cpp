// msgpack_decode.cpp - The bounded MessagePack decoder (see msgpack.h): bytes to a Value.
// Owns: reading every msgpack form, and refusing truncated input, trailing bytes, the reserved
// byte 0xc1 and anything over Limits (bytes, depth, elements), each with where it was found.
// Never: writes msgpack (msgpack.cpp), knows the adapter's message shapes, or knows the OS.
#include "cluster/msgpack.h"

#include <bit>
#include <string>

namespace outpost::cluster::msgpack {

namespace {

class Decoder {
public:
    Decoder(std::span<const uint8_t> in, const Limits& limits) : in_(in), limits_(limits) {}

    bool run(Value& out, std::string& error) {
        if (in_.size() > limits_.max_bytes) {
            error = "input of " + std::to_string(in_.size()) + " bytes is over the limit of " +
                    std::to_string(limits_.max_bytes);
            return false;
        }
        if (in_.empty()) {
            error = "empty input";
            return false;
        }
        if (!parse(out, 1)) {
            error = std::move(error_);
            return false;
        }
        if (pos_ != in_.size()) {
            error = std::to_string(in_.size() - pos_) + " trailing bytes after the value at offset " +
                    std::to_string(pos_);
            return false;
        }
        return true;
    }

private:
    bool fail(std::string what, std::size_t at) {
        error_ = std::move(what) + " at offset " + std::to_string(at);
        return false;
    }
    bool need(std::size_t n, const char* what) {
        if (in_.size() - pos_ < n) {
            return fail(std::string("truncated ") + what + ": needs " + std::to_string(n) + " bytes, " +
                            std::to_string(in_.size() - pos_) + " left",
                        pos_);
        }
        return true;
    }
    uint64_t be(int n) {
        uint64_t v = 0;
        for (int k = 0; k < n; ++k) v = (v << 8) | in_[pos_++];
        return v;
    }
    bool length(int n, const char* what, uint64_t& len) {
        if (!need(static_cast<std::size_t>(n), what)) return false;
        len = be(n);
        return true;
    }
    bool raw(Value& out, Type t, uint64_t len, const char* what) {
        if (len > in_.size() - pos_) return need(static_cast<std::size_t>(len), what);
        out.type = t;
        out.bytes.assign(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(len));
        pos_ += static_cast<std::size_t>(len);
        return true;
    }
    bool ext(Value& out, uint64_t len) {
        if (!need(1, "ext type")) return false;
        out.ext_type = static_cast<int8_t>(in_[pos_++]);
        return raw(out, Type::ext, len, "ext payload");
    }
    bool container(Value& out, Type t, uint64_t n, uint32_t depth) {
        const std::size_t at = pos_;
        if (depth >= limits_.max_depth) {
            return fail("nesting deeper than " + std::to_string(limits_.max_depth), at);
        }
        if (n > limits_.max_elements - elements_) {
            return fail("more than " + std::to_string(limits_.max_elements) + " elements", at);
        }
        elements_ += static_cast<uint32_t>(n);
        const uint64_t count = t == Type::map ? n * 2 : n;
        // Every item takes at least one byte: refuse counts the input cannot hold before allocating.
        if (count > in_.size() - pos_) {
            return fail("truncated " + std::string(t == Type::map ? "map" : "array") + ": " + std::to_string(n) +
                            (t == Type::map ? " entries" : " items") + " announced, " +
                            std::to_string(in_.size() - pos_) + " bytes left",
                        at);
        }
        out.type = t;
        out.items.resize(static_cast<std::size_t>(count));
        for (auto& item : out.items) {
            if (!parse(item, depth + 1)) return false;
        }
        return true;
    }

    // One value at pos_: the byte that opens it picks the form.
    bool parse(Value& out, uint32_t depth) {
        if (!need(1, "value")) return false;
        const std::size_t at = pos_;
        const uint8_t b = in_[pos_++];
        if (b <= 0xbf || b >= 0xe0) return fixed_form(out, b, depth);
        if (b >= 0xca && b <= 0xd3) return number(out, b);
        return sized_form(out, b, depth, at);
    }
    // The forms that carry their value or length in the first byte: fixint, fixmap, fixarray, fixstr.
    bool fixed_form(Value& out, uint8_t b, uint32_t depth) {
        if (b <= 0x7f) {
            out = Value::of_uint(b);
            return true;
        }
        if (b >= 0xe0) {
            out = Value::of_int(static_cast<int8_t>(b));
            return true;
        }
        if (b <= 0x8f) return container(out, Type::map, b & 0x0fu, depth);
        if (b <= 0x9f) return container(out, Type::array, b & 0x0fu, depth);
        return raw(out, Type::str, b & 0x1fu, "str");
    }
    // float32, float64, uint8..64, int8..64 (0xca-0xd3).
    bool number(Value& out, uint8_t b) {
        if (b == 0xca) {
            if (!need(4, "float32")) return false;
            out = Value::of_double(static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(be(4)))));
            return true;
        }
        if (b == 0xcb) {
            if (!need(8, "float64")) return false;
            out = Value::of_double(std::bit_cast<double>(be(8)));
            return true;
        }
        if (b <= 0xcf) {
            const int n = 1 << (b - 0xcc);
            if (!need(static_cast<std::size_t>(n), "uint")) return false;
            out = Value::of_uint(be(n));
            return true;
        }
        const int n = 1 << (b - 0xd0);
        if (!need(static_cast<std::size_t>(n), "int")) return false;
        const uint64_t raw_bits = be(n);
        const int shift = 64 - 8 * n; // sign-extend from n bytes
        out = Value::of_int(static_cast<int64_t>(raw_bits << shift) >> shift);
        return true;
    }
    // nil, booleans, and the forms whose length follows the first byte: bin, ext, str, array, map.
    bool sized_form(Value& out, uint8_t b, uint32_t depth, std::size_t at) {
        uint64_t len = 0;
        switch (b) {
        case 0xc0: out = Value::nil(); return true;
        case 0xc2: out = Value::of_bool(false); return true;
        case 0xc3: out = Value::of_bool(true); return true;
        case 0xc4: return length(1, "bin8 length", len) && raw(out, Type::bin, len, "bin");
        case 0xc5: return length(2, "bin16 length", len) && raw(out, Type::bin, len, "bin");
        case 0xc6: return length(4, "bin32 length", len) && raw(out, Type::bin, len, "bin");
        case 0xc7: return length(1, "ext8 length", len) && ext(out, len);
        case 0xc8: return length(2, "ext16 length", len) && ext(out, len);
        case 0xc9: return length(4, "ext32 length", len) && ext(out, len);
        case 0xd4: return ext(out, 1);
        case 0xd5: return ext(out, 2);
        case 0xd6: return ext(out, 4);
        case 0xd7: return ext(out, 8);
        case 0xd8: return ext(out, 16);
        case 0xd9: return length(1, "str8 length", len) && raw(out, Type::str, len, "str");
        case 0xda: return length(2, "str16 length", len) && raw(out, Type::str, len, "str");
        case 0xdb: return length(4, "str32 length", len) && raw(out, Type::str, len, "str");
        case 0xdc: return length(2, "array16 length", len) && container(out, Type::array, len, depth);
        case 0xdd: return length(4, "array32 length", len) && container(out, Type::array, len, depth);
        case 0xde: return length(2, "map16 length", len) && container(out, Type::map, len, depth);
        case 0xdf: return length(4, "map32 length", len) && container(out, Type::map, len, depth);
        default: break;
        }
        return fail("reserved byte 0xc1", at);
    }

    std::span<const uint8_t> in_;
    const Limits& limits_;
    std::size_t pos_ = 0;
    uint32_t elements_ = 0;
    std::string error_;
};

} // namespace

DecodeResult decode(std::span<const uint8_t> in, const Limits& limits) {
    DecodeResult r;
    Decoder d(in, limits);
    r.ok = d.run(r.value, r.error);
    if (!r.ok) r.value = Value::nil();
    return r;
}

} // namespace outpost::cluster::msgpack
