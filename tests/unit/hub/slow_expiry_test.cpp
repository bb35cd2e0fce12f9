// slow_expiry_test.cpp - Send-queue refusals (slow consumers) and token expiry / auth:refresh,
// through a real Hub + SocketLayer + fake transport whose queues can be made to refuse frames.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hub_test_util.h"

namespace outpost::hub::test {
namespace {

void expect_cut(const Client& c, const std::string& code) {
    const std::vector<std::string>& f = c.frames();
    ASSERT_GE(f.size(), 2u) << code;
    Packet err = decode(f[f.size() - 2]);
    EXPECT_EQ(err.args[0].str(), "server:error") << err.raw;
    EXPECT_EQ(err.args[1]["code"].str(), code) << err.raw;
    EXPECT_EQ(f.back(), "41");
    EXPECT_TRUE(c.closed());
    EXPECT_FALSE(c.rig->layer->connected(c.id));
}

// ---------------------------------------------------------------- slow consumers

TEST(SlowConsumer, RoomBroadcastCutsOnlyTheFullSocket) {
    Rig rig;
    Client a = rig.connect("alice"), b = rig.connect("bob"), c = rig.connect("carol");
    for (const Client* x : {&a, &b, &c}) rig.join(*x, "lobby");
    rig.clear_all();
    rig.t.full[b.index()] = true;
    a.emit(R"(["typing",{"room":"lobby","active":true}])");
    expect_cut(b, "slow_consumer"); // server:error bypasses the queue limit
    EXPECT_EQ(c.events("user:typing").size(), 1u);
    EXPECT_FALSE(c.closed());
    EXPECT_FALSE(a.closed());
    EXPECT_EQ(rig.hub->stats().slow_consumer_cuts, 1u);
    EXPECT_EQ(rig.hub->sockets(), 2u);
}

TEST(SlowConsumer, BroadcastToAllCutsTheFullSocket) {
    Rig rig;
    Client admin = rig.connect("root", as_admin());
    Client b = rig.connect("bob"), c = rig.connect("carol");
    rig.clear_all();
    rig.t.full[c.index()] = true;
    admin.emit(R"(["admin:broadcast",{"message":"m"}])", 1);
    expect_cut(c, "slow_consumer");
    EXPECT_EQ(b.events("system:maintenance").size(), 1u);
    EXPECT_TRUE(admin.ack(1)["ok"].is_true());
}

// PROTOCOL.md §3: a socket whose send queue is over the limit is cut with slow_consumer. In
// presence.scope "rooms" the hub sends presence events itself instead of through the adapter.
TEST(SlowConsumer, PresenceInRoomsScopeCutsTheFullSocket) {
    Rig rig;
    rig.settings.presence.scope = "rooms";
    rig.start();
    Client mate = rig.connect("bob");
    Client a = rig.connect("alice");
    rig.join(a, "lobby");
    rig.join(mate, "lobby");
    rig.clear_all();
    rig.t.full[mate.index()] = true;
    a.emit(R"(["presence:set",{"status":"away"}])", 1);
    EXPECT_TRUE(mate.closed()) << "presence:update could not be queued for bob, and bob was neither cut nor sent it";
    if (mate.closed()) expect_cut(mate, "slow_consumer");
}

// An answer the transport refuses must not vanish: either the client gets its ack, or the socket
// is cut (slow_consumer) so that the client reconnects instead of waiting for ever.
TEST(SlowConsumer, RefusedAckIsNotDroppedSilently) {
    Rig rig;
    Client a = rig.connect("alice");
    rig.join(a, "lobby");
    rig.clear_all();
    rig.t.full[a.index()] = true;
    a.emit(R"(["room:members",{"room":"lobby"}])", 5);
    bool answered = a.ack(5).valid();
    EXPECT_TRUE(answered || a.closed()) << "ack 5 refused by the transport and dropped; the socket stays connected";
}

// A single answer larger than the send-queue limit (history:get can return 100 bodies of up to
// limits.max_body bytes = 1.6 MB against max_send_queue_bytes = 256 KiB) is refused by the
// transport even with an empty queue.
TEST(SlowConsumer, AnswerLargerThanTheQueueLimitIsNotDroppedSilently) {
    TempDir dir;
    store::StoreOptions o;
    o.path = dir.path + "/outpost.db";
    o.synchronous_full = false;
    o.commit_interval_ms = 1;
    o.max_age_s = 0;
    Result<std::unique_ptr<store::Store>> st = store::Store::open(o, [] {});
    ASSERT_TRUE(st.ok());
    {
        Rig rig;
        rig.start(st->get());
        Client a = rig.connect("alice");
        rig.join(a, "lobby");
        std::string body = "\"" + std::string(1000, 'x') + "\"";
        for (int i = 0; i < 5; ++i)
            a.emit("[\"message:send\",{\"room\":\"lobby\",\"body\":" + body + ",\"clientId\":\"m" + std::to_string(i) + "\"}]", 10 + i);
        rig.settle();
        EXPECT_TRUE(a.ack(14)["ok"].is_true());
        rig.t.max_frame_bytes = 4096; // stands for max_send_queue_bytes
        a.emit(R"(["history:get",{"room":"lobby"}])", 20);
        bool answered = a.ack(20).valid();
        EXPECT_TRUE(answered || a.closed()) << "a 5 KB history:get answer over a 4 KB queue limit vanished without an error or a cut";
        rig.settle();
        rig.hub.reset();
    }
}

// ---------------------------------------------------------------- expiry and auth:refresh

TEST(Expiry, WarningThenCutAtExpPlusLeeway) {
    Rig rig;
    Client a = rig.connect("alice", [] { TokenOpts o; o.ttl_s = 100; return o; }());
    // cut at exp + 30 s (100 + 30 s from now, within a second), warning 60 s before
    rig.t.advance(68000);
    EXPECT_TRUE(a.events("auth:expiring").empty());
    rig.t.advance(4000); // 72 s
    std::vector<Json> w = a.events("auth:expiring");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_GT(w[0]["expiresInMs"].num(), 57000);
    EXPECT_LE(w[0]["expiresInMs"].num(), 60000);
    rig.t.advance(56000); // 128 s
    EXPECT_FALSE(a.closed());
    rig.t.advance(3000); // 131 s
    expect_cut(a, "token_expired");
    EXPECT_EQ(rig.hub->stats().expired_cuts, 1u);
}

TEST(Expiry, WarningAtOnceWhenAlreadyInsideTheWindow) {
    Rig rig;
    Client a = rig.connect("alice", [] { TokenOpts o; o.ttl_s = 10; return o; }());
    rig.t.advance(0);
    std::vector<Json> w = a.events("auth:expiring");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_GT(w[0]["expiresInMs"].num(), 38000);
    EXPECT_LE(w[0]["expiresInMs"].num(), 40000);
}

TEST(Expiry, RefreshMovesTheCut) {
    Rig rig;
    Client a = rig.connect("alice", [] { TokenOpts o; o.ttl_s = 100; return o; }());
    rig.t.advance(50000);
    a.emit("[\"auth:refresh\",{\"token\":\"" + rig.token("alice") + "\"}]", 1); // an hour
    Json ack = a.ack(1);
    ASSERT_TRUE(ack["ok"].is_true()) << ack.dump();
    EXPECT_GT(ack["exp"].num(), double(platform::wall_ms() / 1000 + 3500));
    rig.t.advance(200000); // well past the first token's cut
    EXPECT_FALSE(a.closed());
    EXPECT_TRUE(a.events("auth:expiring").empty());
}

TEST(Expiry, RefreshRefusals) {
    Rig rig;
    Client a = rig.connect("alice");
    a.emit("[\"auth:refresh\",{\"token\":\"" + rig.token("mallory") + "\"}]", 1);
    EXPECT_EQ(a.ack(1)["error"]["code"].str(), "forbidden") << a.ack(1).dump();
    a.emit(R"(["auth:refresh",{"token":"not.a.jwt"}])", 2);
    EXPECT_EQ(a.ack(2)["error"]["code"].str(), "token_malformed") << a.ack(2).dump();
    a.emit(R"(["auth:refresh",{"token":"not.a.jwt"}])");
    ASSERT_EQ(a.events("server:error").size(), 1u);
    EXPECT_EQ(a.events("server:error")[0]["code"].str(), "token_malformed");
    EXPECT_EQ(a.events("server:error")[0]["event"].str(), "auth:refresh");
    EXPECT_FALSE(a.closed());
}

TEST(Expiry, RefreshToAdminEnablesAdminEvents) {
    Rig rig;
    Client a = rig.connect("alice");
    a.emit(R"(["admin:stats",{}])", 1);
    EXPECT_EQ(a.ack(1)["error"]["code"].str(), "forbidden");
    a.emit("[\"auth:refresh\",{\"token\":\"" + rig.token("alice", as_admin()) + "\"}]", 2);
    ASSERT_TRUE(a.ack(2)["ok"].is_true());
    a.emit(R"(["admin:stats",{}])", 3);
    EXPECT_TRUE(a.ack(3)["ok"].is_true()) << a.ack(3).dump();
}

} // namespace
// ---------------------------------------------------------------- clocks

// The hub reads the wall clock through the transport, like the monotonic one: a transport whose
// wall clock runs ten days ahead of the machine's decides token validity and stamps serverTime.
TEST(Clock, WallClockComesFromTheTransport) {
    Rig rig;
    rig.t.wall_offset += int64_t(10) * 24 * 3600 * 1000;
    Client a = rig.connect("alice", [] { TokenOpts o; o.ttl_s = 100; return o; }()); // minted on the transport's clock
    ASSERT_FALSE(a.events("connection:established").empty());
    EXPECT_EQ(a.events("connection:established")[0]["serverTime"].num(), double(rig.t.wall_ms()));
    rig.t.advance(98000); // the warning and the cut follow that clock too
    EXPECT_FALSE(a.events("auth:expiring").empty());
    EXPECT_FALSE(a.closed());
}

} // namespace outpost::hub::test
