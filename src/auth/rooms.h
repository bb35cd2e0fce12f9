// rooms.h - Room names and the permission policy: which rooms a verified identity may join.
// Owns: room-name and pattern syntax, the reserved prefixes, may_join(). Never: knows about
// membership or storage.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"

namespace outpost::auth {

inline constexpr size_t kMaxRoomNameBytes = 100;
// Rooms under these prefixes are managed by the server; no pattern ever grants them.
inline constexpr std::array<std::string_view, 3> kReservedRoomPrefixes{"user:", "dm:", "system:"};

// 1-100 chars of [A-Za-z0-9_.:@-] (PROTOCOL.md §4); `max_bytes` for the server's own longer
// names (hub: "dm:<user>:<user>").
bool is_valid_room_name(std::string_view room, size_t max_bytes = kMaxRoomNameBytes);
// "*" alone, an exact room name, or a non-empty name prefix followed by one '*'.
bool is_valid_room_pattern(std::string_view pattern);
bool is_reserved_room(std::string_view room);
// True when `pattern` ("*", "site:*" or an exact name) matches `room`. No reserved-prefix rule.
bool pattern_matches(std::string_view pattern, std::string_view room);
// Whether `id` may join `room`: false for invalid or reserved names; otherwise the token's
// `rooms` patterns when it has that claim (an empty list allows nothing), else `default_rooms`.
bool may_join(const Identity& id, std::string_view room, const std::vector<std::string>& default_rooms);

} // namespace outpost::auth
