// wire.cpp - The text of the JSON shapes the hub sends (see wire.h).
#include "hub/wire.h"

#include <cjson/cJSON.h>

#include <memory>

namespace outpost::hub {

std::string_view error_code_name(ErrorCode c) {
    switch (c) {
    case ErrorCode::invalid_payload: return "invalid_payload";
    case ErrorCode::unknown_event: return "unknown_event";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_member: return "not_member";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::payload_too_large: return "payload_too_large";
    case ErrorCode::room_full: return "room_full";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
    }
    return "internal";
}

namespace wire {

std::string quoted(std::string_view text) {
    std::unique_ptr<cJSON, void (*)(cJSON*)> j(cJSON_CreateString(std::string(text).c_str()), cJSON_Delete);
    std::unique_ptr<char, void (*)(void*)> printed(cJSON_PrintUnformatted(j.get()), cJSON_free);
    return printed ? std::string(printed.get()) : std::string("\"\"");
}

std::string message(const store::Message& m) {
    return "{\"id\":\"" + std::to_string(m.id) + "\",\"room\":" + quoted(m.room) + ",\"seq\":" + std::to_string(m.seq) +
           ",\"from\":" + quoted(m.sender) + ",\"body\":" + (m.body.empty() ? std::string("null") : m.body) +
           ",\"ts\":" + std::to_string(m.ts) + ",\"clientId\":" + quoted(m.client_id) + "}";
}

std::string stored_fields(const store::Message& m, bool duplicate) {
    return "\"id\":\"" + std::to_string(m.id) + "\",\"room\":" + quoted(m.room) + ",\"seq\":" + std::to_string(m.seq) +
           ",\"ts\":" + std::to_string(m.ts) + ",\"duplicate\":" + (duplicate ? "true" : "false");
}

std::string event(std::string_view name, std::string_view payload_json) {
    return "[\"" + std::string(name) + "\"," + std::string(payload_json) + "]";
}

} // namespace wire
} // namespace outpost::hub
