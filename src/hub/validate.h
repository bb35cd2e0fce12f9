// validate.h - Payload schemas for client events and the one function that checks them.
// Owns: field types, lengths, the clientId charset, list sizes, enums (room-name and user-id
// charsets are auth's: auth/rooms.h, auth/jwt.h).
// Never: knows handlers; a failure message always names the field ("room: ...").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct cJSON;

namespace outpost::hub {

enum class FieldType : uint8_t { string, integer, boolean, any, string_list };
enum class Rule : uint8_t { none, room_name, user_id, client_id, one_of };

struct Field {
    const char* name;
    FieldType type;
    bool required;
    Rule rule = Rule::none;
    int64_t min = 0;                      // integer: smallest value; string/list: fewest chars/items
    int64_t max = 0;                      // integer: largest value; string/list: most chars/items (0: no limit)
    const char* const* one_of = nullptr;  // Rule::one_of: null-terminated list
};

struct Schema {
    const Field* fields;
    size_t count;
};

constexpr size_t kMaxListItems = 100;

bool is_room_name(std::string_view s);  // 1-100 chars of [A-Za-z0-9_.:@-] (dm: rooms may reach 132)
bool is_user_id(std::string_view s);    // 1-64 chars of [A-Za-z0-9_.@-]
bool is_client_id(std::string_view s);  // 1-64 chars, printable ASCII
bool is_reserved_room(std::string_view s); // user:, dm:, system:

// Checks `payload` (must be a JSON object; unknown members are refused too). On failure fills
// `message` with e.g. `room: expected 1-100 chars of [A-Za-z0-9_.:@-]` and returns false.
bool validate(const Schema& schema, const cJSON* payload, std::string& message);

} // namespace outpost::hub
