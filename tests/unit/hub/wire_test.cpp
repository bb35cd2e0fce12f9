// wire_test.cpp - The exact bytes of each JSON shape of hub/wire.h: key order, numbers,
// true/false/null, no spaces, strings escaped, message bodies copied raw.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hub/wire.h"

namespace outpost::hub {
namespace {

store::Message sample() {
    store::Message m;
    m.id = 12;
    m.room = "r\"1";
    m.seq = 3;
    m.sender = "u1";
    m.body = "{\"t\":[1, 2]}";
    m.ts = 1700000000000;
    m.client_id = "c1";
    return m;
}

TEST(Wire, Events) {
    EXPECT_EQ(wire::message_new(sample()),
              "[\"message:new\",{\"id\":\"12\",\"room\":\"r\\\"1\",\"seq\":3,\"from\":\"u1\",\"body\":{\"t\":[1, 2]},\"ts\":1700000000000,"
              "\"clientId\":\"c1\"}]");
    EXPECT_EQ(wire::message_status("r", "u", 7, true, 9), "{\"room\":\"r\",\"userId\":\"u\",\"seq\":7,\"status\":\"read\",\"ts\":9}");
    EXPECT_EQ(wire::message_status("r", "u", 7, false, 9), "{\"room\":\"r\",\"userId\":\"u\",\"seq\":7,\"status\":\"delivered\",\"ts\":9}");
    EXPECT_EQ(wire::sync_complete({}), "[\"sync:complete\",{\"rooms\":{}}]");
    EXPECT_EQ(wire::sync_complete({{"a", 1}, {"b\n", 0}}), "[\"sync:complete\",{\"rooms\":{\"a\":1,\"b\\n\":0}}]");
    EXPECT_EQ(wire::user_online("u", "", 5), "{\"userId\":\"u\",\"name\":null,\"ts\":5}");
    EXPECT_EQ(wire::user_online("u", "Ann", 5), "{\"userId\":\"u\",\"name\":\"Ann\",\"ts\":5}");
    EXPECT_EQ(wire::user_offline("u", 5, 4), "{\"userId\":\"u\",\"ts\":5,\"lastSeen\":4}");
    EXPECT_EQ(wire::presence_update("u", "away", 5), "{\"userId\":\"u\",\"status\":\"away\",\"ts\":5}");
    EXPECT_EQ(wire::room_revoked("r"), "{\"room\":\"r\"}");
    EXPECT_EQ(wire::auth_expiring(-1), "[\"auth:expiring\",{\"expiresInMs\":-1}]");
    EXPECT_EQ(wire::maintenance("m\\", 5), "{\"message\":\"m\\\\\",\"ts\":5}");
    EXPECT_EQ(wire::established({"u", "sid1", "d", 5, 25000, 20000, 1000000, 16384}),
              "[\"connection:established\",{\"userId\":\"u\",\"sid\":\"sid1\",\"deviceId\":\"d\",\"serverTime\":5,\"recovered\":false,"
              "\"heartbeat\":{\"intervalMs\":25000,\"timeoutMs\":20000},\"limits\":{\"maxPayload\":1000000,\"maxBody\":16384}}]");
    EXPECT_EQ(wire::refusal("no", "token_missing"), "{\"message\":\"no\",\"data\":{\"code\":\"token_missing\"}}");
}

TEST(Wire, AnswerFields) {
    EXPECT_EQ(wire::ok_ack(""), "[{\"ok\":true}]");
    EXPECT_EQ(wire::ok_ack(wire::room_fields("r")), "[{\"ok\":true,\"room\":\"r\"}]");
    EXPECT_EQ(wire::room_seq_fields("r", 4), "\"room\":\"r\",\"seq\":4");
    EXPECT_EQ(wire::joined_fields("r", 0, {}, false), "\"room\":\"r\",\"seq\":0,\"members\":[],\"membersTruncated\":false");
    EXPECT_EQ(wire::joined_fields("r", 2, {"a", "b"}, true), "\"room\":\"r\",\"seq\":2,\"members\":[\"a\",\"b\"],\"membersTruncated\":true");
    EXPECT_EQ(wire::members_fields("r", {}), "\"room\":\"r\",\"members\":[]");
    EXPECT_EQ(wire::members_fields("r", {{"a", true, "busy"}, {"b", false, "offline"}}),
              "\"room\":\"r\",\"members\":[{\"userId\":\"a\",\"online\":true,\"status\":\"busy\"},"
              "{\"userId\":\"b\",\"online\":false,\"status\":\"offline\"}]");
    EXPECT_EQ(wire::presence_fields({}), "\"presence\":[]");
    EXPECT_EQ(wire::presence_fields({{"a", true, "online", 0, 2}, {"b", false, "offline", 77, 0}}),
              "\"presence\":[{\"userId\":\"a\",\"online\":true,\"status\":\"online\",\"lastSeen\":null,\"devices\":2},"
              "{\"userId\":\"b\",\"online\":false,\"status\":\"offline\",\"lastSeen\":77,\"devices\":0}]");
    EXPECT_EQ(wire::status_fields("away"), "\"status\":\"away\"");
    EXPECT_EQ(wire::history_fields("r", {}, false), "\"room\":\"r\",\"messages\":[],\"hasMore\":false");
    std::vector<store::Message> rows{sample(), sample()};
    rows[1].body.clear();
    EXPECT_EQ(wire::history_fields("r", rows, true), "\"room\":\"r\",\"messages\":[" + wire::message(rows[0]) + "," + wire::message(rows[1]) +
                                                         "],\"hasMore\":true");
    EXPECT_EQ(wire::exp_fields(std::nullopt), "\"exp\":null");
    EXPECT_EQ(wire::exp_fields(1700000000), "\"exp\":1700000000");
    EXPECT_EQ(wire::disconnected_fields("u", 3), "\"userId\":\"u\",\"sockets\":3");
}

} // namespace
} // namespace outpost::hub
