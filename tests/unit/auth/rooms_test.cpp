// rooms_test.cpp - Table: room patterns, reserved prefixes and may_join().
#include <gtest/gtest.h>

#include "auth/rooms.h"

namespace outpost::auth {
namespace {

Identity with_rooms(std::vector<std::string> rooms) {
    Identity id;
    id.user_id = "alice";
    id.has_rooms_claim = true;
    id.rooms = std::move(rooms);
    return id;
}

Identity without_rooms() {
    Identity id;
    id.user_id = "alice";
    return id;
}

struct Case {
    const char* name;
    Identity id;
    std::vector<std::string> defaults;
    const char* room;
    bool allowed;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::vector<std::string> kStar{"*"};

std::vector<Case> cases() {
    return {
        {"default_star_allows", without_rooms(), kStar, "lobby", true},
        {"default_star_not_user", without_rooms(), kStar, "user:bob", false},
        {"default_star_not_dm", without_rooms(), kStar, "dm:alice:bob", false},
        {"default_star_not_system", without_rooms(), kStar, "system:alerts", false},
        {"default_empty_allows_nothing", without_rooms(), {}, "lobby", false},
        {"default_list", without_rooms(), {"lobby", "site:*"}, "site:7", true},
        {"default_list_miss", without_rooms(), {"lobby", "site:*"}, "other", false},
        {"claim_overrides_default", with_rooms({"lobby"}), kStar, "other", false},
        {"claim_exact", with_rooms({"lobby"}), {}, "lobby", true},
        {"claim_exact_no_prefix_match", with_rooms({"lobby"}), {}, "lobby2", false},
        {"claim_exact_case_sensitive", with_rooms({"lobby"}), {}, "Lobby", false},
        {"claim_prefix", with_rooms({"site:*"}), {}, "site:12:floor-3", true},
        {"claim_prefix_itself", with_rooms({"site:*"}), {}, "site:", true},
        {"claim_prefix_miss", with_rooms({"site:*"}), {}, "sites", false},
        {"claim_prefix_shorter_room", with_rooms({"site:*"}), {}, "site", false},
        {"claim_empty_list", with_rooms({}), kStar, "lobby", false},
        {"claim_star", with_rooms({"*"}), {}, "anything.at-all@x", true},
        {"claim_star_not_reserved", with_rooms({"*"}), {}, "user:alice", false},
        {"claim_user_prefix_not_granted", with_rooms({"user:*"}), {}, "user:alice", false},
        {"claim_dm_exact_not_granted", with_rooms({"dm:alice:bob"}), {}, "dm:alice:bob", false},
        {"claim_system_not_granted", with_rooms({"system:*", "sys*"}), {}, "system:x", false},
        {"claim_u_star_not_user", with_rooms({"u*"}), {}, "user:bob", false},
        {"claim_u_star_other", with_rooms({"u*"}), {}, "updates", true},
        {"second_pattern_matches", with_rooms({"a", "b*"}), {}, "b1", true},
        {"invalid_room_empty", with_rooms({"*"}), {}, "", false},
        {"invalid_room_space", with_rooms({"*"}), {}, "a b", false},
        {"invalid_room_101", with_rooms({"*"}), {}, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", false},
        {"valid_room_100", with_rooms({"*"}), {}, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", true},
        {"admin_has_no_bypass", [] { Identity i = with_rooms({"lobby"}); i.admin = true; return i; }(), {}, "other", false},
    };
}

class MayJoin : public ::testing::TestWithParam<Case> {};

TEST_P(MayJoin, Decision) {
    const Case& c = GetParam();
    EXPECT_EQ(may_join(c.id, c.room, c.defaults), c.allowed);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Patterns, MayJoin, ::testing::ValuesIn(cases()), case_name);

TEST(RoomPatterns, Syntax) {
    for (const char* ok : {"*", "lobby", "site:*", "a", "A-z_0.9:@", "x*"}) EXPECT_TRUE(is_valid_room_pattern(ok)) << ok;
    for (const char* bad : {"", "**", "a*b", "*a", "a b", "a**", "caf\xc3\xa9", "a/b"})
        EXPECT_FALSE(is_valid_room_pattern(bad)) << bad;
    EXPECT_TRUE(is_valid_room_pattern(std::string(100, 'r') + "*"));
    EXPECT_FALSE(is_valid_room_pattern(std::string(101, 'r')));
}

TEST(RoomPatterns, Reserved) {
    for (const char* r : {"user:", "user:a", "dm:a:b", "system:x"}) EXPECT_TRUE(is_reserved_room(r)) << r;
    for (const char* r : {"user", "users:a", "dm", "systemx", "User:a"}) EXPECT_FALSE(is_reserved_room(r)) << r;
}

} // namespace
} // namespace outpost::auth
