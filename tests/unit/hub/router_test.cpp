// router_test.cpp - The hub's event router through a real Hub + SocketLayer + fake transport:
// connect, unknown events, admin-only events, payload validation (the message names the field, the
// socket keeps working) and the per-class rate limits with the cut for flooding.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "hub_test_util.h"

namespace outpost::hub::test {
namespace {

TEST(Connect, EstablishedCarriesIdentityAndLimits) {
    Rig rig;
    Client c = rig.connect("alice", {}, "phone-1");
    ASSERT_GE(c.frames().size(), 2u);
    EXPECT_EQ(c.frames()[0].rfind("40{\"sid\":\"", 0), 0u) << c.frames()[0];
    std::vector<Json> est = c.events("connection:established");
    ASSERT_EQ(est.size(), 1u);
    EXPECT_EQ(est[0]["userId"].str(), "alice");
    EXPECT_EQ(est[0]["deviceId"].str(), "phone-1");
    EXPECT_TRUE(est[0]["recovered"].is_false());
    EXPECT_GT(est[0]["serverTime"].num(), 1.5e12);
    EXPECT_EQ(est[0]["limits"]["maxBody"].num(), 16384);
    // The sid in the event is the Socket.IO sid of the CONNECT reply.
    Packet connect = decode(c.frames()[0]);
    EXPECT_EQ(est[0]["sid"].str(), connect.args["sid"].str());
    EXPECT_EQ(rig.hub->sockets(), 1u);
}

TEST(Connect, DeviceDefaultsToDefault) {
    Rig rig;
    Client c = rig.connect("alice");
    EXPECT_EQ(c.events("connection:established").at(0)["deviceId"].str(), "default");
}

struct RefusalCase {
    const char* what;
    std::string payload; // CONNECT payload; "%T" is replaced by a valid token for "alice"
    const char* code;
};

void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.what; }

class ConnectRefused : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(ConnectRefused, WithCode) {
    Rig rig;
    std::string payload = GetParam().payload;
    size_t at = payload.find("%T");
    if (at != std::string::npos) payload.replace(at, 2, rig.token("alice"));
    Client c = rig.connect_raw("alice", payload);
    EXPECT_FALSE(rig.layer->connected(c.id));
    ASSERT_EQ(c.frames().size(), 1u);
    Packet p = decode(c.frames()[0]);
    EXPECT_EQ(p.type, '4') << p.raw;
    EXPECT_EQ(p.args["data"]["code"].str(), GetParam().code) << p.raw;
    EXPECT_EQ(rig.hub->sockets(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Table, ConnectRefused,
                         ::testing::Values(RefusalCase{"no_token", "{}", "token_missing"},
                                           RefusalCase{"garbage", R"({"token":"abc"})", "token_malformed"},
                                           RefusalCase{"bad_device", R"({"token":"%T","deviceId":"a b"})", "invalid_payload"},
                                           RefusalCase{"device_not_string", R"({"token":"%T","deviceId":5})", "invalid_payload"}),
                         [](const auto& p) { return std::string(p.param.what); });

TEST(Connect, WrongSecretIsTokenSignature) {
    Rig rig;
    auth::MintRequest req;
    req.sub = "alice";
    Result<std::string> tok = auth::mint_hs256("another-secret-another-secret-0123456789", req, platform::wall_ms() / 1000);
    ASSERT_TRUE(tok.ok());
    Client c = rig.connect_raw("alice", "{\"token\":\"" + *tok + "\"}");
    ASSERT_EQ(c.frames().size(), 1u);
    EXPECT_EQ(decode(c.frames()[0]).args["data"]["code"].str(), "token_signature");
}

// ---------------------------------------------------------------- unknown / admin-only events

TEST(Router, UnknownEventWithAckAndWithout) {
    Rig rig;
    Client c = rig.connect("alice");
    c.emit(R"(["no:such",{}])", 5);
    Json a = c.ack(5);
    EXPECT_TRUE(a["ok"].is_false()) << a.dump();
    EXPECT_EQ(a["error"]["code"].str(), "unknown_event");
    EXPECT_EQ(a["error"]["message"].str(), "unknown event \"no:such\"");
    EXPECT_FALSE(a["error"].has("retryAfterMs"));

    c.emit(R"(["no:such"])");
    std::vector<Json> errs = c.events("server:error");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0]["code"].str(), "unknown_event");
    EXPECT_EQ(errs[0]["event"].str(), "no:such");
    EXPECT_FALSE(c.closed());
}

class AdminOnly : public ::testing::TestWithParam<const char*> {};

TEST_P(AdminOnly, ForbiddenForOrdinaryUsers) {
    Rig rig;
    Client admin = rig.connect("root", as_admin());
    Client c = rig.connect("alice");
    rig.clear_all();
    c.emit(std::string("[\"") + GetParam() + "\",{}]", 1);
    Json a = c.ack(1);
    EXPECT_TRUE(a["ok"].is_false()) << a.dump();
    EXPECT_EQ(a["error"]["code"].str(), "forbidden");
    // Nothing happened: nobody got a broadcast or a disconnect.
    EXPECT_TRUE(admin.frames().empty());
    EXPECT_FALSE(c.closed());
    // Without an ack: server:error naming the event.
    c.emit(std::string("[\"") + GetParam() + "\",{}]");
    ASSERT_EQ(c.events("server:error").size(), 1u);
    EXPECT_EQ(c.events("server:error")[0]["code"].str(), "forbidden");
    EXPECT_EQ(c.events("server:error")[0]["event"].str(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Table, AdminOnly, ::testing::Values("admin:broadcast", "admin:disconnect", "admin:stats"),
                         [](const auto& p) {
                             std::string s = p.param;
                             for (char& ch : s)
                                 if (ch == ':') ch = '_';
                             return s;
                         });

// ---------------------------------------------------------------- invalid payloads

struct PayloadCase {
    const char* what;
    std::string event; // the whole array after the name, e.g. ,{"room":5}
    std::string message;
};

std::string n_ids(int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? ",\"u" : "\"u") + std::to_string(i) + "\"";
    return s + "]";
}

const std::string kRoomRule = "room: expected 1-100 chars of [A-Za-z0-9_.:@-]";
const std::string kUserRule = "expected 1-64 chars of [A-Za-z0-9_.@-]";
const std::string kSeqRange = "seq: expected an integer from 0 to 9007199254740992";

void PrintTo(const PayloadCase& c, std::ostream* os) { *os << c.what; }

class InvalidPayload : public ::testing::TestWithParam<PayloadCase> {};

TEST_P(InvalidPayload, NamesTheFieldAndTheSocketKeepsWorking) {
    Rig rig;
    Client c = rig.connect("alice", as_admin());
    rig.join(c, "lobby");
    c.clear();
    c.emit(GetParam().event, 7);
    Json a = c.ack(7);
    EXPECT_TRUE(a["ok"].is_false()) << GetParam().what << ": " << a.dump();
    EXPECT_EQ(a["error"]["code"].str(), "invalid_payload") << GetParam().what;
    EXPECT_EQ(a["error"]["message"].str(), GetParam().message) << GetParam().what;
    // The same without an ack: server:error with the message and the event name.
    c.emit(GetParam().event);
    std::vector<Json> errs = c.events("server:error");
    ASSERT_EQ(errs.size(), 1u) << GetParam().what;
    EXPECT_EQ(errs[0]["code"].str(), "invalid_payload");
    EXPECT_EQ(errs[0]["message"].str(), GetParam().message);
    // Still connected and served.
    EXPECT_FALSE(c.closed());
    c.emit(R"(["typing",{"room":"lobby","active":true}])", 8);
    EXPECT_TRUE(c.ack(8)["ok"].is_true()) << c.ack(8).dump();
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidPayload,
    ::testing::Values(
        PayloadCase{"join_missing_room", R"(["room:join",{}])", "room: required, expected a string"},
        PayloadCase{"join_no_payload", R"(["room:join"])", "room: required, expected a string"},
        PayloadCase{"join_payload_string", R"(["room:join","lobby"])", "payload: expected an object"},
        PayloadCase{"join_payload_array", R"(["room:join",["lobby"]])", "payload: expected an object"},
        PayloadCase{"join_room_number", R"(["room:join",{"room":5}])", "room: expected a string"},
        PayloadCase{"join_room_empty", R"(["room:join",{"room":""}])", kRoomRule},
        PayloadCase{"join_room_101", "[\"room:join\",{\"room\":\"" + std::string(101, 'r') + "\"}]", kRoomRule},
        PayloadCase{"join_room_space", R"(["room:join",{"room":"a b"}])", kRoomRule},
        PayloadCase{"join_room_slash", R"(["room:join",{"room":"a/b"}])", kRoomRule},
        PayloadCase{"join_dm_133", "[\"room:join\",{\"room\":\"dm:" + std::string(65, 'a') + ":" + std::string(64, 'b') + "\"}]", kRoomRule},
        PayloadCase{"join_unknown_field", R"(["room:join",{"room":"lobby","password":"x"}])", "password: unknown field"},
        PayloadCase{"leave_missing_room", R"(["room:leave",{}])", "room: required, expected a string"},
        PayloadCase{"members_room_null", R"(["room:members",{"room":null}])", "room: expected a string"},
        PayloadCase{"typing_missing_active", R"(["typing",{"room":"lobby"}])", "active: required, expected a boolean"},
        PayloadCase{"typing_active_number", R"(["typing",{"room":"lobby","active":1}])", "active: expected a boolean"},
        PayloadCase{"typing_extra", R"(["typing",{"room":"lobby","active":true,"x":1}])", "x: unknown field"},
        PayloadCase{"status_missing", R"(["presence:set",{}])", "status: required, expected a string"},
        PayloadCase{"status_enum", R"(["presence:set",{"status":"gone"}])", "status: expected one of online, away, busy"},
        PayloadCase{"status_case", R"(["presence:set",{"status":"Online"}])", "status: expected one of online, away, busy"},
        PayloadCase{"ids_not_array", R"(["presence:get",{"userIds":"bob"}])", "userIds: expected an array of strings"},
        PayloadCase{"ids_empty", R"(["presence:get",{"userIds":[]}])", "userIds: expected 1-100 entries, got 0"},
        PayloadCase{"ids_101", "[\"presence:get\",{\"userIds\":" + n_ids(101) + "}]", "userIds: expected 1-100 entries, got 101"},
        PayloadCase{"ids_non_string", R"(["presence:get",{"userIds":["bob",7]}])", "userIds: entry 1 is not a string"},
        PayloadCase{"ids_bad_id", R"(["presence:get",{"userIds":["b:ob"]}])", "userIds: entry 0 " + kUserRule},
        PayloadCase{"ids_65", "[\"presence:get\",{\"userIds\":[\"" + std::string(65, 'u') + "\"]}]", "userIds: entry 0 " + kUserRule},
        PayloadCase{"presence_neither", R"(["presence:get",{}])", "userIds: give either userIds or room"},
        PayloadCase{"presence_both", R"(["presence:get",{"userIds":["bob"],"room":"lobby"}])", "userIds: give either userIds or room"},
        PayloadCase{"seq_fraction", R"(["message:delivered",{"room":"lobby","seq":1.5}])", "seq: expected an integer"},
        PayloadCase{"seq_string", R"(["message:read",{"room":"lobby","seq":"1"}])", "seq: expected an integer"},
        PayloadCase{"seq_1e20", R"(["message:read",{"room":"lobby","seq":1e20}])", kSeqRange},
        PayloadCase{"seq_negative", R"(["message:delivered",{"room":"lobby","seq":-1}])", kSeqRange},
        PayloadCase{"seq_missing", R"(["message:delivered",{"room":"lobby"}])", "seq: required, expected an integer"},
        PayloadCase{"history_limit_0", R"(["history:get",{"room":"lobby","limit":0}])", "limit: expected an integer from 1 to 100"},
        PayloadCase{"history_limit_101", R"(["history:get",{"room":"lobby","limit":101}])", "limit: expected an integer from 1 to 100"},
        PayloadCase{"history_before_neg", R"(["history:get",{"room":"lobby","before":-5}])", "before: expected an integer from 0 to 9007199254740992"},
        PayloadCase{"history_after_frac", R"(["history:get",{"room":"lobby","after":0.5}])", "after: expected an integer"},
        PayloadCase{"send_missing_client_id", R"(["message:send",{"room":"lobby","body":1}])", "clientId: required, expected a string"},
        PayloadCase{"send_missing_body", R"(["message:send",{"room":"lobby","clientId":"c1"}])", "body: required, expected a value"},
        PayloadCase{"send_client_id_empty", R"(["message:send",{"room":"lobby","body":1,"clientId":""}])", "clientId: expected 1-64 printable ASCII chars"},
        PayloadCase{"send_client_id_65", "[\"message:send\",{\"room\":\"lobby\",\"body\":1,\"clientId\":\"" + std::string(65, 'c') + "\"}]",
                    "clientId: expected 1-64 printable ASCII chars"},
        PayloadCase{"send_client_id_control", R"(["message:send",{"room":"lobby","body":1,"clientId":"a\nb"}])", "clientId: expected 1-64 printable ASCII chars"},
        PayloadCase{"send_to_bad", R"(["message:send",{"to":"b ob","body":1,"clientId":"c"}])", "to: " + kUserRule},
        PayloadCase{"send_room_and_to", R"(["message:send",{"room":"lobby","to":"bob","body":1,"clientId":"c"}])", "room: give either room or to"},
        PayloadCase{"send_neither", R"(["message:send",{"body":1,"clientId":"c"}])", "room: give either room or to"},
        PayloadCase{"send_unknown", R"(["message:send",{"room":"lobby","body":1,"clientId":"c","ttl":5}])", "ttl: unknown field"},
        PayloadCase{"refresh_empty", R"(["auth:refresh",{"token":""}])", "token: expected 1-16384 chars"},
        PayloadCase{"refresh_number", R"(["auth:refresh",{"token":1}])", "token: expected a string"},
        PayloadCase{"broadcast_empty", R"(["admin:broadcast",{"message":""}])", "message: expected 1-1000 chars"},
        PayloadCase{"broadcast_1001", "[\"admin:broadcast\",{\"message\":\"" + std::string(1001, 'm') + "\"}]", "message: expected 1-1000 chars"},
        PayloadCase{"disconnect_missing", R"(["admin:disconnect",{}])", "userId: required, expected a string"},
        PayloadCase{"disconnect_bad_user", R"(["admin:disconnect",{"userId":"a/b"}])", "userId: " + kUserRule},
        PayloadCase{"disconnect_reason_201", "[\"admin:disconnect\",{\"userId\":\"bob\",\"reason\":\"" + std::string(201, 'r') + "\"}]",
                    "reason: expected 0-200 chars"},
        PayloadCase{"stats_unknown", R"(["admin:stats",{"verbose":true}])", "verbose: unknown field"}),
    [](const auto& p) { return std::string(p.param.what); });

TEST(Router, BinaryAttachmentsAreInvalidPayload) {
    Rig rig;
    Client c = rig.connect("alice");
    rig.join(c, "lobby");
    c.emit_binary(R"(["typing",{"room":"lobby","active":{"_placeholder":true,"num":0}}])", "x", 3);
    Json a = c.ack(3);
    EXPECT_EQ(a["error"]["code"].str(), "invalid_payload") << a.dump();
    EXPECT_FALSE(c.closed());
}

TEST(Router, DmRoomUpTo132CharsPassesValidationButIsReserved) {
    Rig rig;
    Client c = rig.connect("alice");
    c.emit("[\"room:join\",{\"room\":\"dm:" + std::string(64, 'a') + ":" + std::string(64, 'b') + "\"}]", 1);
    Json a = c.ack(1);
    EXPECT_EQ(a["error"]["code"].str(), "forbidden") << a.dump();
    EXPECT_EQ(a["error"]["message"].str(), "room: reserved name");
}

// ---------------------------------------------------------------- rate limits

TEST(RateLimit, ElevenTypingInOneSecondGetExactlyOneRefusal) {
    Rig rig;
    rig.settings = settings::Settings(); // the defaults of PROTOCOL.md §4: typing 10/s
    rig.start();
    Client c = rig.connect("alice");
    rig.join(c, "lobby");
    c.clear();
    for (int i = 0; i < 11; ++i) {
        c.emit(R"(["typing",{"room":"lobby","active":true}])", 100 + i);
        rig.t.advance(9); // 11 events within 99 ms: less than one token refills
    }
    int ok = 0, limited = 0;
    for (int i = 0; i < 11; ++i) {
        Json a = c.ack(100 + i);
        if (a["ok"].is_true()) ++ok;
        if (a["error"]["code"].str() == "rate_limited") {
            ++limited;
            EXPECT_EQ(i, 10);
            EXPECT_GT(a["error"]["retryAfterMs"].num(), 0) << a.dump();
            EXPECT_LE(a["error"]["retryAfterMs"].num(), 100) << a.dump();
            EXPECT_EQ(a["error"]["message"].str(), "rate limit exceeded for this event class");
        }
    }
    EXPECT_EQ(ok, 10);
    EXPECT_EQ(limited, 1);
    EXPECT_EQ(rig.hub->stats().rate_limited, 1u);
    // Another class is not affected.
    c.emit(R"(["room:members",{"room":"lobby"}])", 200);
    EXPECT_TRUE(c.ack(200)["ok"].is_true());
    // After the advertised wait a token is back (continuous refill, not a window reset).
    int64_t wait = int64_t(c.ack(110)["error"]["retryAfterMs"].num());
    rig.t.advance(wait);
    c.emit(R"(["typing",{"room":"lobby","active":true}])", 201);
    EXPECT_TRUE(c.ack(201)["ok"].is_true()) << c.ack(201).dump();
    c.emit(R"(["typing",{"room":"lobby","active":true}])", 202);
    EXPECT_EQ(c.ack(202)["error"]["code"].str(), "rate_limited");
    EXPECT_FALSE(c.closed());
}

TEST(RateLimit, RefusalWithoutAckIsServerErrorWithRetryAfter) {
    Rig rig;
    rig.settings = settings::Settings();
    rig.start();
    Client c = rig.connect("alice");
    rig.join(c, "lobby");
    for (int i = 0; i < 10; ++i) c.emit(R"(["typing",{"room":"lobby","active":false}])");
    c.clear();
    c.emit(R"(["typing",{"room":"lobby","active":false}])");
    std::vector<Json> errs = c.events("server:error");
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0]["code"].str(), "rate_limited");
    EXPECT_EQ(errs[0]["event"].str(), "typing");
    EXPECT_EQ(errs[0]["retryAfterMs"].num(), 100); // an empty bucket of 10/s: one token in 100 ms
}

TEST(RateLimit, RoomClassIsFivePerTenSeconds) {
    Rig rig;
    rig.settings = settings::Settings();
    rig.start();
    Client c = rig.connect("alice");
    for (int i = 0; i < 6; ++i) c.emit("[\"room:join\",{\"room\":\"r" + std::to_string(i) + "\"}]", i);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.ack(i)["ok"].is_true()) << i;
    Json a = c.ack(5);
    EXPECT_EQ(a["error"]["code"].str(), "rate_limited");
    EXPECT_EQ(a["error"]["retryAfterMs"].num(), 2000); // 5 tokens per 10 s: one every 2 s
}

TEST(RateLimit, UnknownEventsCountAgainstTheDefaultClass) {
    Rig rig;
    rig.settings = settings::Settings();
    rig.settings.rate_limits.default_ = {3, 60000};
    rig.start();
    Client c = rig.connect("alice");
    for (int i = 0; i < 4; ++i) c.emit(R"(["nope",{}])", i);
    EXPECT_EQ(c.ack(2)["error"]["code"].str(), "unknown_event");
    EXPECT_EQ(c.ack(3)["error"]["code"].str(), "rate_limited");
}

TEST(RateLimit, FloodingAfterRefusalsCutsTheSocket) {
    Rig rig;
    rig.settings = settings::Settings();
    rig.start();
    Client c = rig.connect("alice");
    Client other = rig.connect("bob");
    rig.join(c, "lobby");
    c.clear();
    int sent = 0;
    while (!c.closed() && sent < 200) {
        c.emit(R"(["typing",{"room":"lobby","active":true}])", 1000 + sent);
        ++sent;
    }
    ASSERT_TRUE(c.closed()) << "still connected after " << sent << " typing events";
    int limited = 0;
    for (int i = 0; i < sent; ++i)
        if (c.ack(1000 + i)["error"]["code"].str() == "rate_limited") ++limited;
    // PROTOCOL.md §13: a socket with 50 refusals within 10 s is cut. 10 admitted, then 50 refusals,
    // and the next refused event cuts.
    EXPECT_EQ(sent - 10 - limited, 1) << "sent " << sent << ", refused with rate_limited " << limited;
    EXPECT_EQ(limited, 50);
    // server:error {code:"rate_limited"} then DISCONNECT "41", then the close.
    const std::vector<std::string>& f = c.frames();
    ASSERT_GE(f.size(), 2u);
    EXPECT_EQ(f.back(), "41");
    Packet last = decode(f[f.size() - 2]);
    EXPECT_EQ(last.args[0].str(), "server:error") << last.raw;
    EXPECT_EQ(last.args[1]["code"].str(), "rate_limited") << last.raw;
    EXPECT_FALSE(rig.layer->connected(c.id));
    EXPECT_EQ(rig.hub->stats().rate_limit_cuts, 1u);
    EXPECT_EQ(rig.hub->sockets(), 1u);
    EXPECT_FALSE(other.closed());
}

TEST(RateLimit, RefusalsSpreadOverMoreThanTenSecondsDoNotCut) {
    Rig rig;
    rig.settings = settings::Settings();
    rig.start();
    Client c = rig.connect("alice");
    rig.join(c, "lobby");
    // 120 refusals, at most 40 in any 10 s window: never cut.
    int refused = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 50; ++i) c.emit(R"(["typing",{"room":"lobby","active":false}])", 5000 + round * 100 + i);
        for (int i = 0; i < 50; ++i)
            if (c.ack(5000 + round * 100 + i)["error"]["code"].str() == "rate_limited") ++refused;
        rig.t.advance(10001);
    }
    EXPECT_FALSE(c.closed());
    EXPECT_GE(refused, 100);
}

} // namespace
} // namespace outpost::hub::test
