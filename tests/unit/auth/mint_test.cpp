// mint_test.cpp - mint_hs256 round-trips through verify; the TTL and rooms-list parsers.
#include <gtest/gtest.h>

#include "auth/mint.h"
#include "auth/rooms.h"
#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

TEST(Mint, RoundTripThroughVerify) {
    MintRequest req;
    req.sub = "alice";
    req.ttl_s = 3600;
    req.admin = true;
    req.has_rooms = true;
    req.rooms = {"site:*", "lobby"};
    req.name = "Alice \"A\" \\ Ünïcode";
    auto t = mint_hs256(kSecret, req, kNow);
    ASSERT_TRUE(t.ok()) << t.error().message;
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(*t, keys, kNow, Policy{});
    ASSERT_TRUE(r.ok()) << r.error().detail;
    EXPECT_EQ(r->user_id, "alice");
    EXPECT_TRUE(r->admin);
    EXPECT_EQ(r->rooms, req.rooms);
    EXPECT_EQ(r->name, req.name);
    EXPECT_EQ(r->exp, kNow + 3600);
    EXPECT_TRUE(may_join(*r, "site:9", {}));
    EXPECT_FALSE(may_join(*r, "other", {"*"}));
    EXPECT_EQ(code_of(verify(*t, keys, kNow + 3600 + 30, Policy{})), "token_expired");
}

TEST(Mint, MinimalTokenHasNoOptionalClaims) {
    MintRequest req;
    req.sub = "bob";
    auto t = mint_hs256(kSecret, req, kNow);
    ASSERT_TRUE(t.ok());
    std::string payload_json = unb64(t->substr(t->find('.') + 1, t->rfind('.') - t->find('.') - 1));
    EXPECT_EQ(payload_json, R"({"sub":"bob","iat":1700000000,"exp":1700003600})");
    EXPECT_EQ(t->substr(0, t->find('.')), b64(R"({"alg":"HS256","typ":"JWT"})"));
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(*t, keys, kNow, Policy{});
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->admin);
    EXPECT_FALSE(r->has_rooms_claim);
}

TEST(Mint, IssuerAudienceAndLateEpoch) {
    MintRequest req;
    req.sub = "bob";
    req.issuer = "iss-1";
    req.audience = "outpost";
    req.ttl_s = kMaxTtlS;
    int64_t now = 4102444800; // 2100: exp is beyond 32-bit
    auto t = mint_hs256(kSecret, req, now);
    ASSERT_TRUE(t.ok());
    Policy p;
    p.issuer = "iss-1";
    p.audience = "outpost";
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(*t, keys, now, p);
    ASSERT_TRUE(r.ok()) << r.error().detail;
    EXPECT_EQ(r->exp, now + kMaxTtlS);
}

TEST(Mint, OtherSecretDoesNotVerify) {
    MintRequest req;
    req.sub = "bob";
    auto t = mint_hs256("one-secret-one-secret-one-secret", req, kNow);
    ASSERT_TRUE(t.ok());
    KeySet keys = KeySet::hs256("two-secret-two-secret-two-secret");
    EXPECT_EQ(code_of(verify(*t, keys, kNow, Policy{})), "token_signature");
}

TEST(Mint, RefusesBadRequests) {
    auto bad = [](void (*edit)(MintRequest&), std::string_view secret = kSecret) {
        MintRequest req;
        req.sub = "alice";
        edit(req);
        auto t = mint_hs256(secret, req, kNow);
        return !t.ok() && t.status() == Status::invalid_argument;
    };
    EXPECT_TRUE(bad([](MintRequest& r) { r.sub = ""; }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.sub = "system"; }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.sub = "a b"; }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.sub = std::string(65, 'a'); }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.ttl_s = 0; }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.ttl_s = kMaxTtlS + 1; }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.rooms = {"a b"}; }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.name = std::string(129, 'n'); }));
    EXPECT_TRUE(bad([](MintRequest& r) { r.name = "tab\there"; }));
    EXPECT_TRUE(bad([](MintRequest&) {}, ""));
}

struct TtlCase {
    const char* text;
    int64_t seconds; // 0: refused
};

TEST(ParseTtl, Table) {
    const TtlCase cases[] = {
        {"90s", 90}, {"15m", 900}, {"1h", 3600}, {"7d", 604800}, {"3600", 3600}, {"1", 1},
        {"3660d", 3660 * 86400}, {"3661d", 0}, {"0", 0}, {"0s", 0}, {"", 0}, {"s", 0}, {"h", 0},
        {"-5", 0}, {"+5", 0}, {"1.5h", 0}, {"1 h", 0}, {" 1h", 0}, {"1H", 0}, {"1w", 0}, {"90x", 0},
        {"1hs", 0}, {"999999999999", 0}, {"99999999999999999999", 0}, {"1e3", 0},
    };
    for (const TtlCase& c : cases) {
        auto r = parse_ttl(c.text);
        if (c.seconds == 0) {
            EXPECT_FALSE(r.ok()) << c.text;
        } else {
            ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().message;
            EXPECT_EQ(*r, c.seconds) << c.text;
        }
    }
}

TEST(ParseRoomsList, Table) {
    using V = std::vector<std::string>;
    EXPECT_EQ(*parse_rooms_list("site:*,lobby"), (V{"site:*", "lobby"}));
    EXPECT_EQ(*parse_rooms_list(" site:* , lobby "), (V{"site:*", "lobby"}));
    EXPECT_EQ(*parse_rooms_list("*"), (V{"*"}));
    EXPECT_EQ(*parse_rooms_list(""), V{});
    EXPECT_EQ(*parse_rooms_list("  "), V{});
    for (const char* bad : {"a,", ",a", "a,,b", "a b", "a*b", "lobby,**"}) EXPECT_FALSE(parse_rooms_list(bad).ok()) << bad;
}

} // namespace
} // namespace outpost::auth::test
