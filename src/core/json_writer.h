// json_writer.h - A streaming JSON writer into a std::string: the one way Outpost writes JSON.
// Owns: JSON syntax on output: commas, colons, quoting and escaping every string and member name
// it is given (RFC 8259 §7). Never: parses (cJSON and proto/json.h read JSON), allocates beyond
// the output string, or checks that the calls nest correctly (callers write fixed shapes; a unit
// test per shape covers them).
//
// Strings: '"' and '\' are escaped, \b \f \n \r \t as such, every other byte below 0x20 as \u00xx
// (lowercase hex, as cJSON prints, so answers keep their bytes), valid UTF-8 is copied as is.
// Invalid UTF-8 (a byte that does not start a valid sequence: truncated, overlong, surrogate,
// above U+10FFFF, stray continuation) is written as U+FFFD, one per such byte, so the output is
// always valid UTF-8 and valid JSON whatever the input.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace outpost::core {

// Appends `s` to `out` as a quoted, escaped JSON string.
void json_append_string(std::string& out, std::string_view s);

class JsonWriter {
public:
    // Appends to `out`, which may already hold text (a packet prefix, say).
    explicit JsonWriter(std::string& out) : out_(out) {}

    JsonWriter& begin_object() { return open('{'); }
    JsonWriter& end_object() { return close('}'); }
    JsonWriter& begin_array() { return open('['); }
    JsonWriter& end_array() { return close(']'); }
    // A member name; the next call writes its value.
    JsonWriter& key(std::string_view name);

    JsonWriter& string(std::string_view s);
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    JsonWriter& number(T v) {
        if constexpr (std::is_signed_v<T>) return signed_number(static_cast<int64_t>(v));
        else return unsigned_number(static_cast<uint64_t>(v));
    }
    // A fixed-point number with `decimals` digits after the point (printf "%.*f"); null when
    // v is not finite (JSON has no NaN or infinity).
    JsonWriter& fixed(double v, int decimals);
    JsonWriter& boolean(bool v);
    JsonWriter& null();
    // Text that already is valid, compact JSON, copied as is after the separator a value would
    // get: one value (a stored message body, a value compacted by proto::json::compact), or,
    // inside an object, a run of `"key":value` members written by a writer of their own (the
    // hub's answer fields: hub::wire::ok_ack, admin's publish answer).
    JsonWriter& raw(std::string_view json);

    // key(name) then the value: member("id", 7), member("ok", true), member("name", "x").
    template <class V>
    JsonWriter& member(std::string_view name, const V& v) {
        key(name);
        if constexpr (std::same_as<V, bool>) return boolean(v);
        else if constexpr (std::integral<V>) return number(v);
        else return string(v);
    }

    std::string& out() { return out_; }

private:
    void separate() {
        if (need_comma_) out_ += ',';
        need_comma_ = false;
    }
    JsonWriter& open(char c) {
        separate();
        out_ += c;
        return *this;
    }
    JsonWriter& close(char c) {
        out_ += c;
        need_comma_ = true;
        return *this;
    }
    JsonWriter& signed_number(int64_t v);
    JsonWriter& unsigned_number(uint64_t v);

    std::string& out_;
    bool need_comma_ = false; // a value was written at this level: the next key or element needs ','
};

} // namespace outpost::core
