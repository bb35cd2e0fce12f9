// value_json.cpp - A msgpack Value as JSON text and back, the way the adapter's JS does it (see
// value_json.h): JSON.parse for requests and answers read as JSON, JSON.stringify of what notepack
// decodes for those written as JSON.
// Owns: cJSON to Value (bounded by Limits), Value to JSON text (JS number layout, Buffers, Dates as
// ISO strings). Never: knows the adapter's message shapes (adapter_wire.cpp), writes or reads
// msgpack bytes, or knows the OS.
#include "cluster/value_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/cjson_ptr.h"
#include "core/json_writer.h"

namespace outpost::cluster::wire {

namespace {

bool from_cjson(const cJSON* j, uint32_t depth, uint32_t& elements, const msgpack::Limits& limits, Value& out,
                std::string& error) {
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        if (depth >= limits.max_depth) {
            error = "JSON nesting deeper than " + std::to_string(limits.max_depth);
            return false;
        }
        const bool object = cJSON_IsObject(j);
        out = object ? Value::map() : Value::array();
        for (const cJSON* c = j->child; c; c = c->next) {
            if (++elements > limits.max_elements) {
                error = "JSON with more than " + std::to_string(limits.max_elements) + " elements";
                return false;
            }
            if (object) out.items.push_back(Value::of_str(c->string ? c->string : ""));
            out.items.emplace_back();
            if (!from_cjson(c, depth + 1, elements, limits, out.items.back(), error)) return false;
        }
        return true;
    }
    if (cJSON_IsString(j)) {
        out = Value::of_str(j->valuestring ? j->valuestring : "");
    } else if (cJSON_IsNumber(j)) {
        const double d = j->valuedouble;
        if (std::floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            out = Value::of_int(static_cast<int64_t>(d));
        } else {
            out = Value::of_double(d);
        }
    } else if (cJSON_IsBool(j)) {
        out = Value::of_bool(cJSON_IsTrue(j));
    } else {
        out = Value::nil();
    }
    return true;
}

// Number.prototype.toString for a finite double: shortest round-trip digits, JS's layout.
void js_number(std::string& out, double v) {
    if (v == 0) {
        out += '0';
        return;
    }
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
    if (s[0] == '-') {
        out += '-';
        s.remove_prefix(1);
    }
    const auto e = s.find('e');
    std::string digits;
    for (char c : s.substr(0, e)) {
        if (c != '.') digits += c;
    }
    int exp = 0;
    std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
    const int k = static_cast<int>(digits.size());
    const int n = exp + 1;
    if (k <= n && n <= 21) {
        out += digits;
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits, 0, static_cast<std::size_t>(n)).append(".").append(digits, static_cast<std::size_t>(n));
    } else if (-6 < n && n <= 0) {
        out.append("0.").append(static_cast<std::size_t>(-n), '0').append(digits);
    } else {
        out += digits[0];
        if (k > 1) out.append(".").append(digits, 1);
        out += 'e';
        out += n - 1 >= 0 ? '+' : '-';
        out += std::to_string(std::abs(n - 1));
    }
}

// Date.prototype.toISOString for milliseconds since the epoch.
void iso_date(std::string& out, int64_t ms) {
    int64_t days = ms / 86400000;
    int64_t rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        --days;
    }
    // days to civil (proleptic Gregorian), H. Hinnant's algorithm.
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    char buf[48];
    if (y >= 0 && y <= 9999) {
        std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(y));
    } else {
        std::snprintf(buf, sizeof buf, "%c%06lld", y < 0 ? '-' : '+', static_cast<long long>(y < 0 ? -y : y));
    }
    out += buf;
    std::snprintf(buf, sizeof buf, "-%02d-%02dT%02d:%02d:%02d.%03dZ", static_cast<int>(m), static_cast<int>(d),
                  static_cast<int>(rem / 3600000), static_cast<int>(rem / 60000 % 60), static_cast<int>(rem / 1000 % 60),
                  static_cast<int>(rem % 1000));
    out += buf;
}

bool write_json(const Value& v, std::string& out, std::string& error);

// A Buffer as JSON.stringify prints it.
void write_bin(const std::string& bytes, std::string& out) {
    out += "{\"type\":\"Buffer\",\"data\":[";
    for (std::size_t k = 0; k < bytes.size(); ++k) {
        if (k) out += ',';
        out += std::to_string(static_cast<uint8_t>(bytes[k]));
    }
    out += "]}";
}

// A timestamp as its Date's ISO string; any other extension has no JSON form.
bool write_ext(const Value& v, std::string& out, std::string& error) {
    int64_t ms = 0;
    if (v.as_timestamp_ms(ms) && (ms > 8640000000000000LL || ms < -8640000000000000LL)) {
        out += "null"; // outside a JS Date's range: an Invalid Date, which JSON.stringify prints as null
        return true;
    }
    if (!v.as_timestamp_ms(ms)) {
        error = "msgpack extension type " + std::to_string(v.ext_type) + " has no JSON form";
        return false;
    }
    out += '"';
    iso_date(out, ms);
    out += '"';
    return true;
}

bool write_array(const Value& v, std::string& out, std::string& error) {
    out += '[';
    for (std::size_t k = 0; k < v.items.size(); ++k) {
        if (k) out += ',';
        if (!write_json(v.items[k], out, error)) return false;
    }
    out += ']';
    return true;
}

bool write_map(const Value& v, std::string& out, std::string& error) {
    out += '{';
    for (std::size_t k = 0; k + 1 < v.items.size(); k += 2) {
        if (k) out += ',';
        if (v.items[k].type == msgpack::Type::str) {
            core::json_append_string(out, v.items[k].bytes);
        } else { // JS object keys are strings: a non-string msgpack key prints as its JSON in quotes
            std::string key;
            if (!write_json(v.items[k], key, error)) return false;
            core::json_append_string(out, key);
        }
        out += ':';
        if (!write_json(v.items[k + 1], out, error)) return false;
    }
    out += '}';
    return true;
}

bool write_json(const Value& v, std::string& out, std::string& error) {
    switch (v.type) {
    case msgpack::Type::nil: out += "null"; return true;
    case msgpack::Type::boolean: out += v.boolean ? "true" : "false"; return true;
    case msgpack::Type::uint: out += std::to_string(v.u); return true;
    case msgpack::Type::sint: out += std::to_string(v.i); return true;
    case msgpack::Type::float64:
        if (!std::isfinite(v.f)) {
            out += "null";
        } else {
            js_number(out, v.f);
        }
        return true;
    case msgpack::Type::str: core::json_append_string(out, v.bytes); return true;
    case msgpack::Type::bin: write_bin(v.bytes, out); return true;
    case msgpack::Type::ext: return write_ext(v, out, error);
    case msgpack::Type::array: return write_array(v, out, error);
    case msgpack::Type::map: return write_map(v, out, error);
    }
    return true;
}

} // namespace

bool json_to_value(std::string_view json, const msgpack::Limits& limits, Value& out, std::string& error) {
    if (json.size() > limits.max_bytes) {
        error = "JSON of " + std::to_string(json.size()) + " bytes is over the limit of " + std::to_string(limits.max_bytes);
        return false;
    }
    core::CJsonPtr root(cJSON_ParseWithLength(json.data(), json.size()));
    if (!root) {
        error = "malformed JSON";
        return false;
    }
    uint32_t elements = 0;
    return from_cjson(root.get(), 1, elements, limits, out, error);
}

bool value_to_json(const Value& v, std::string& out, std::string& error) { return write_json(v, out, error); }

} // namespace outpost::cluster::wire
