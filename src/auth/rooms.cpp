// rooms.cpp - Room-name syntax and the room permission policy (see rooms.h).
#include "auth/rooms.h"

#include <algorithm>

namespace outpost::auth {
namespace {

bool is_room_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '@' || c == '-';
}

bool any_matches(const std::vector<std::string>& patterns, std::string_view room) {
    return std::any_of(patterns.begin(), patterns.end(), [room](const std::string& p) { return pattern_matches(p, room); });
}

} // namespace

bool is_valid_room_name(std::string_view room, size_t max_bytes) {
    return !room.empty() && room.size() <= max_bytes && std::all_of(room.begin(), room.end(), is_room_char);
}

bool is_valid_room_pattern(std::string_view pattern) {
    if (pattern == "*") return true;
    if (!pattern.empty() && pattern.back() == '*') pattern.remove_suffix(1);
    return is_valid_room_name(pattern);
}

bool is_reserved_room(std::string_view room) {
    return std::any_of(kReservedRoomPrefixes.begin(), kReservedRoomPrefixes.end(),
                       [room](std::string_view prefix) { return room.starts_with(prefix); });
}

bool pattern_matches(std::string_view pattern, std::string_view room) {
    if (!pattern.empty() && pattern.back() == '*') return room.starts_with(pattern.substr(0, pattern.size() - 1));
    return pattern == room;
}

bool may_join(const Identity& id, std::string_view room, const std::vector<std::string>& default_rooms) {
    if (!is_valid_room_name(room) || is_reserved_room(room)) return false;
    return any_matches(id.has_rooms_claim ? id.rooms : default_rooms, room);
}

} // namespace outpost::auth
