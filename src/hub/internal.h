// internal.h - What the hub's own files share: payload field readers, the names of the rooms it
// makes, and the status names. Included only by src/hub/*.cpp.
// Never: declares anything another module may use (that goes in hub.h or wire.h).
#pragma once

#include <cjson/cJSON.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "hub/limits.h"
#include "store/store.h"

namespace outpost::hub {

// Presence statuses a client may set, in the order User::status indexes them.
inline const char* const kStatuses[] = {"online", "away", "busy", nullptr};

// Where `status` is in kStatuses (the schema has checked that it is there).
inline uint8_t status_index(const char* status) {
    for (uint8_t i = 0; status && kStatuses[i]; ++i)
        if (std::string_view(status) == kStatuses[i]) return i;
    return 0;
}

// A member of a payload the schema has checked: the string, or null when absent.
inline const char* string_field(const cJSON* obj, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : nullptr;
}

// A member of a payload the schema has checked: the integer, or `fallback` when absent.
inline int64_t int_field(const cJSON* obj, const char* key, int64_t fallback) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? int64_t(v->valuedouble) : fallback;
}

// The room every socket of a user is in, for events to all of a user's devices.
inline std::string user_room(std::string_view user_id) { return "user:" + std::string(user_id); }

inline bool is_dm_room(std::string_view name) { return name.substr(0, 3) == "dm:"; }

// The direct room of two users: the same name whoever writes first.
inline std::string dm_room(std::string_view a, std::string_view b) {
    return a < b ? "dm:" + std::string(a) + ":" + std::string(b) : "dm:" + std::string(b) + ":" + std::string(a);
}

inline uint64_t pair_key(uint32_t uid, uint32_t rid) { return uint64_t(uid) << 32 | rid; }

// A completion for when no store is attached (unit tests of the hub alone).
inline store::Completion done(uint64_t token) {
    store::Completion c;
    c.token = token;
    return c;
}

} // namespace outpost::hub
