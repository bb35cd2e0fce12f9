// validate.cpp - Schema checks for client event payloads (see validate.h).
#include "hub/validate.h"

#include <cjson/cJSON.h>

#include "auth/jwt.h"
#include "auth/rooms.h"

#include <cmath>
#include <cstring>

namespace outpost::hub {
namespace {

// "dm:<user id>:<user id>", written by the hub itself.
constexpr size_t kMaxDmRoomNameBytes = 3 + 2 * auth::kMaxUserIdBytes + 1;

const char* type_name(FieldType t) {
    switch (t) {
    case FieldType::string: return "a string";
    case FieldType::integer: return "an integer";
    case FieldType::boolean: return "a boolean";
    case FieldType::string_list: return "an array of strings";
    case FieldType::any: return "a value";
    }
    return "a value";
}

bool fail(std::string& out, const Field& f, const std::string& why) {
    out = std::string(f.name) + ": " + why;
    return false;
}

bool check_string(const Field& f, std::string_view s, std::string& msg) {
    switch (f.rule) {
    case Rule::room_name:
        return is_room_name(s) || fail(msg, f, "expected 1-100 chars of [A-Za-z0-9_.:@-]");
    case Rule::user_id:
        return is_user_id(s) || fail(msg, f, "expected 1-64 chars of [A-Za-z0-9_.@-]");
    case Rule::client_id:
        return is_client_id(s) || fail(msg, f, "expected 1-64 printable ASCII chars");
    case Rule::one_of: {
        std::string allowed;
        for (const char* const* v = f.one_of; *v; ++v) {
            if (s == *v) return true;
            allowed += allowed.empty() ? "" : ", ";
            allowed += *v;
        }
        return fail(msg, f, "expected one of " + allowed);
    }
    case Rule::none:
        if (f.max && (int64_t(s.size()) > f.max || int64_t(s.size()) < f.min))
            return fail(msg, f, "expected " + std::to_string(f.min) + "-" + std::to_string(f.max) + " chars");
        return true;
    }
    return true;
}

bool check_field(const Field& f, const cJSON* v, std::string& msg) {
    switch (f.type) {
    case FieldType::any:
        return true;
    case FieldType::boolean:
        return cJSON_IsBool(v) || fail(msg, f, std::string("expected ") + type_name(f.type));
    case FieldType::integer: {
        if (!cJSON_IsNumber(v) || !std::isfinite(v->valuedouble) || v->valuedouble != std::floor(v->valuedouble))
            return fail(msg, f, "expected an integer");
        double d = v->valuedouble;
        if (d < double(f.min) || (f.max && d > double(f.max)))
            return fail(msg, f, "expected an integer from " + std::to_string(f.min) + " to " + std::to_string(f.max));
        return true;
    }
    case FieldType::string:
        if (!cJSON_IsString(v)) return fail(msg, f, "expected a string");
        return check_string(f, v->valuestring, msg);
    case FieldType::string_list: {
        if (!cJSON_IsArray(v)) return fail(msg, f, "expected an array of strings");
        int n = cJSON_GetArraySize(v);
        if (n < f.min || (f.max && n > f.max))
            return fail(msg, f, "expected " + std::to_string(f.min) + "-" + std::to_string(f.max) + " entries, got " + std::to_string(n));
        int i = 0;
        for (const cJSON* item = v->child; item; item = item->next, ++i) {
            std::string inner;
            if (!cJSON_IsString(item) || !check_string(f, item->valuestring, inner))
                return fail(msg, f, "entry " + std::to_string(i) + " " + (cJSON_IsString(item) ? inner.substr(inner.find(':') + 2) : "is not a string"));
        }
        return true;
    }
    }
    return true;
}

} // namespace

// The charsets are auth's (auth/rooms.h, auth/jwt.h): a name the hub accepts is one a token can grant.
bool is_room_name(std::string_view s) {
    return auth::is_valid_room_name(s, s.starts_with("dm:") ? kMaxDmRoomNameBytes : auth::kMaxRoomNameBytes);
}
bool is_user_id(std::string_view s) { return auth::is_valid_user_id(s); }
bool is_client_id(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}
bool is_reserved_room(std::string_view s) { return auth::is_reserved_room(s); }

bool validate(const Schema& schema, const cJSON* payload, std::string& msg) {
    if (!cJSON_IsObject(payload)) {
        msg = "payload: expected an object";
        return false;
    }
    for (const cJSON* m = payload->child; m; m = m->next) {
        bool known = false;
        for (size_t i = 0; i < schema.count && !known; ++i) known = !std::strcmp(m->string, schema.fields[i].name);
        if (!known) {
            msg = std::string(m->string) + ": unknown field";
            return false;
        }
    }
    for (size_t i = 0; i < schema.count; ++i) {
        const Field& f = schema.fields[i];
        const cJSON* v = cJSON_GetObjectItemCaseSensitive(payload, f.name);
        if (!v) {
            if (f.required) return fail(msg, f, std::string("required, expected ") + type_name(f.type));
            continue;
        }
        if (!check_field(f, v, msg)) return false;
    }
    return true;
}

} // namespace outpost::hub
