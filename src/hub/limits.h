// limits.h - The hub's fixed capacities and timings, in one place (the configured ones are in
// settings::Limits: limits.max_users, limits.max_rooms, limits.max_rooms_per_user ...).
// Never: holds a value a deployment should tune (that is a setting).
#pragma once

#include <cstddef>
#include <cstdint>

namespace outpost::hub {

constexpr int64_t kTypingExpiryMs = 5000;      // a typing indicator nobody renews goes off after this
constexpr size_t kMaxMembersListed = 1000;     // room:join / room:members list at most this many
constexpr int64_t kRefusalWindowMs = 10000;    // kRefusalsBeforeCut refusals inside it cut the socket
constexpr uint32_t kRefusalsBeforeCut = 50;
constexpr uint32_t kAuthLogPerSecond = 10;     // auth_refused log lines a second, the rest counted
constexpr size_t kRecentDisconnects = 20;      // disconnect reasons kept for the dashboard
constexpr size_t kMaxResend = 64;
constexpr uint32_t kRoomIndexBits = 20;        // room index in a room key (limits.max_rooms <= 2^20)
constexpr uint32_t kRoomGenMask = (uint32_t(1) << (32 - kRoomIndexBits)) - 1; // the generation's 12 bits              // message:new sent again per acknowledgement gap

} // namespace outpost::hub
