// json_writer.cpp - Streaming JSON writer (see json_writer.h).
#include "core/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/utf8.h"

namespace outpost::core {
namespace {

// Bytes copied as they are: ASCII from 0x20 up, except the quote and the backslash. A table: the
// scan of a usual string (a name, an id) costs one load and one test per byte.
constexpr auto kPlain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x80; ++c) plain[size_t(c)] = c != '"' && c != '\\';
    return plain;
}();

// The escape for byte c, or nullptr when c is copied as is (ASCII at or above 0x20).
const char* short_escape(unsigned char c) {
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return nullptr;
    }
}

// Decimal digits of v, with no allocation beyond `out`.
template <class T>
void append_integer(std::string& out, T v) {
    char buf[24]; // 20 digits and a sign at most
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

void json_append_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    size_t run = 0; // start of the bytes not yet copied
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (kPlain[c]) {
            ++i;
            continue;
        }
        size_t n = c < 0x80 ? 0 : utf8_sequence(s, i);
        if (n > 0) { // valid multi-byte UTF-8: part of the run
            i += n;
            continue;
        }
        out.append(s.data() + run, i - run);
        if (c >= 0x80) {
            out += "\xEF\xBF\xBD"; // U+FFFD for a byte that starts no valid sequence
        } else if (const char* e = short_escape(c)) {
            out += e;
        } else {
            const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
            out.append(u, sizeof u);
        }
        run = ++i;
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

JsonWriter& JsonWriter::key(std::string_view name) {
    separate();
    json_append_string(out_, name);
    out_ += ':';
    return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
    separate();
    json_append_string(out_, s);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::signed_number(int64_t v) {
    separate();
    append_integer(out_, v);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::unsigned_number(uint64_t v) {
    separate();
    append_integer(out_, v);
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::fixed(double v, int decimals) {
    if (!std::isfinite(v)) return null();
    separate();
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (n < 0 || size_t(n) >= sizeof buf) { // beyond 1e40 or so: still a valid JSON number
        n = std::snprintf(buf, sizeof buf, "%.17g", v);
    }
    out_.append(buf, size_t(n));
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
    separate();
    out_ += v ? "true" : "false";
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::null() {
    separate();
    out_ += "null";
    need_comma_ = true;
    return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
    separate();
    out_ += json;
    need_comma_ = true;
    return *this;
}

} // namespace outpost::core
