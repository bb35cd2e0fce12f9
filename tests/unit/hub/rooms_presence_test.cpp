// rooms_presence_test.cpp - Rooms, presence, typing and admin events of the hub, observed per
// socket through the fake transport: who gets which event, and the ack shapes of PROTOCOL.md §5-§9.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hub_test_util.h"

namespace outpost::hub::test {
namespace {

std::vector<std::string> strings(const Json& arr) {
    std::vector<std::string> out;
    for (int i = 0; i < arr.size(); ++i) out.push_back(arr[i].str());
    return out;
}

// ---------------------------------------------------------------- rooms

struct Rooms : ::testing::Test {
    Rig rig;
    Client a1, a2, b1, c1;
    void SetUp() override {
        a1 = rig.connect("alice", {}, "laptop");
        a2 = rig.connect("alice", {}, "phone");
        b1 = rig.connect("bob");
        c1 = rig.connect("carol");
        rig.clear_all();
    }
};

TEST_F(Rooms, JoinAckAndMemberJoinedToOtherMembersOnly) {
    a1.emit(R"(["room:join",{"room":"lobby"}])", 1);
    Json a = a1.ack(1);
    EXPECT_TRUE(a["ok"].is_true()) << a.dump();
    EXPECT_EQ(a["room"].str(), "lobby");
    EXPECT_EQ(a["seq"].num(), 0);
    EXPECT_EQ(strings(a["members"]), (std::vector<std::string>{"alice"}));
    EXPECT_TRUE(a["membersTruncated"].is_false());
    // Alone in the room: nobody is told, not even alice's other socket.
    for (const Client* c : {&a1, &a2, &b1, &c1}) EXPECT_TRUE(c->events("room:member_joined").empty());

    b1.emit(R"(["room:join",{"room":"lobby"}])", 2);
    Json b = b1.ack(2);
    EXPECT_TRUE(b["ok"].is_true()) << b.dump();
    EXPECT_EQ(strings(b["members"]), (std::vector<std::string>{"alice", "bob"}));
    for (const Client* c : {&a1, &a2}) {
        std::vector<Json> ev = c->events("room:member_joined");
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(ev[0]["room"].str(), "lobby");
        EXPECT_EQ(ev[0]["userId"].str(), "bob");
    }
    EXPECT_TRUE(b1.events("room:member_joined").empty());
    EXPECT_TRUE(c1.events("room:member_joined").empty());
}

TEST_F(Rooms, MembersAreSortedBytewise) {
    Client z = rig.connect("Zed");
    Client u = rig.connect("_under");
    for (const Client* c : {&b1, &z, &a1, &u}) rig.join(*c, "lobby");
    c1.emit(R"(["room:join",{"room":"lobby"}])", 3);
    EXPECT_EQ(strings(c1.ack(3)["members"]), (std::vector<std::string>{"Zed", "_under", "alice", "bob", "carol"}));
}

TEST_F(Rooms, RejoinIsOkWithoutBroadcast) {
    rig.join(a1, "lobby");
    rig.join(b1, "lobby");
    rig.clear_all();
    b1.emit(R"(["room:join",{"room":"lobby"}])", 4);
    EXPECT_TRUE(b1.ack(4)["ok"].is_true());
    EXPECT_EQ(strings(b1.ack(4)["members"]), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(a1.events("room:member_joined").empty());
    // From alice's other socket: membership belongs to the user.
    a2.emit(R"(["room:join",{"room":"lobby"}])", 5);
    EXPECT_TRUE(a2.ack(5)["ok"].is_true());
    EXPECT_TRUE(b1.events("room:member_joined").empty());
}

TEST_F(Rooms, LeaveAckAndMemberLeftToOtherMembersOnly) {
    rig.join(a1, "lobby");
    rig.join(b1, "lobby");
    rig.clear_all();
    b1.emit(R"(["room:leave",{"room":"lobby"}])", 6);
    Json a = b1.ack(6);
    EXPECT_TRUE(a["ok"].is_true()) << a.dump();
    EXPECT_EQ(a["room"].str(), "lobby");
    for (const Client* c : {&a1, &a2}) {
        std::vector<Json> ev = c->events("room:member_left");
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(ev[0]["userId"].str(), "bob");
        EXPECT_EQ(ev[0]["room"].str(), "lobby");
    }
    EXPECT_TRUE(b1.events("room:member_left").empty());
    EXPECT_TRUE(c1.events("room:member_left").empty());
    // Gone: a second leave, members and typing are not_member; room traffic no longer reaches bob.
    b1.emit(R"(["room:leave",{"room":"lobby"}])", 7);
    EXPECT_EQ(b1.ack(7)["error"]["code"].str(), "not_member");
    b1.emit(R"(["room:members",{"room":"lobby"}])", 8);
    EXPECT_EQ(b1.ack(8)["error"]["code"].str(), "not_member");
    b1.emit(R"(["typing",{"room":"lobby","active":true}])", 9);
    EXPECT_EQ(b1.ack(9)["error"]["code"].str(), "not_member");
    b1.clear();
    a1.emit(R"(["typing",{"room":"lobby","active":true}])", 10);
    EXPECT_TRUE(b1.events("user:typing").empty());
}

TEST_F(Rooms, MembersShape) {
    rig.join(a1, "lobby");
    rig.join(b1, "lobby");
    b1.emit(R"(["presence:set",{"status":"busy"}])", 1);
    b1.close(); // offline after the grace period
    rig.t.advance(rig.settings.presence.grace_ms);
    a1.emit(R"(["room:members",{"room":"lobby"}])", 11);
    Json a = a1.ack(11);
    ASSERT_TRUE(a["ok"].is_true()) << a.dump();
    EXPECT_EQ(a["room"].str(), "lobby");
    ASSERT_EQ(a["members"].size(), 2);
    EXPECT_EQ(a["members"][0].dump(), R"({"userId":"alice","online":true,"status":"online"})");
    EXPECT_EQ(a["members"][1].dump(), R"({"userId":"bob","online":false,"status":"offline"})");
    c1.emit(R"(["room:members",{"room":"lobby"}])", 12);
    EXPECT_EQ(c1.ack(12)["error"]["code"].str(), "not_member");
    c1.emit(R"(["room:members",{"room":"nowhere"}])", 13);
    EXPECT_EQ(c1.ack(13)["error"]["code"].str(), "not_member");
}

TEST_F(Rooms, ReservedAndTokenPatterns) {
    for (const char* room : {"user:bob", "dm:alice:bob", "system:x"}) {
        a1.clear();
        a1.emit(std::string("[\"room:join\",{\"room\":\"") + room + "\"}]", 1);
        EXPECT_EQ(a1.ack(1)["error"]["code"].str(), "forbidden") << room;
        EXPECT_EQ(a1.ack(1)["error"]["message"].str(), "room: reserved name") << room;
    }
    Client s = rig.connect("sam", with_rooms({"site:*", "lobby", "user:*"}));
    s.emit(R"(["room:join",{"room":"site:7"}])", 1);
    EXPECT_TRUE(s.ack(1)["ok"].is_true()) << s.ack(1).dump();
    s.emit(R"(["room:join",{"room":"lobby"}])", 2);
    EXPECT_TRUE(s.ack(2)["ok"].is_true());
    s.emit(R"(["room:join",{"room":"other"}])", 3);
    EXPECT_EQ(s.ack(3)["error"]["code"].str(), "forbidden");
    EXPECT_EQ(s.ack(3)["error"]["message"].str(), "room: not allowed by your token");
    s.emit(R"(["room:join",{"room":"user:bob"}])", 4); // no pattern grants a reserved room
    EXPECT_EQ(s.ack(4)["error"]["code"].str(), "forbidden");
}

TEST_F(Rooms, NewSocketOfAMemberIsSubscribed) {
    rig.join(a1, "lobby");
    rig.join(b1, "lobby");
    Client a3 = rig.connect("alice", {}, "tablet");
    rig.clear_all();
    b1.emit(R"(["typing",{"room":"lobby","active":true}])");
    for (const Client* c : {&a1, &a2, &a3}) EXPECT_EQ(c->events("user:typing").size(), 1u);
}

TEST(RoomLimits, RoomFull) {
    Rig rig;
    rig.settings.limits.max_members_per_room = 2;
    rig.settings.limits.max_rooms_per_user = 1;
    rig.start();
    Client a = rig.connect("alice"), b = rig.connect("bob"), c = rig.connect("carol");
    rig.join(a, "r1");
    rig.join(b, "r1");
    c.emit(R"(["room:join",{"room":"r1"}])", 1);
    EXPECT_EQ(c.ack(1)["error"]["code"].str(), "room_full");
    a.emit(R"(["room:join",{"room":"r2"}])", 2);
    EXPECT_EQ(a.ack(2)["error"]["code"].str(), "room_full");
    a.emit(R"(["room:join",{"room":"r1"}])", 3); // already a member: still fine
    EXPECT_TRUE(a.ack(3)["ok"].is_true());
}

// ---------------------------------------------------------------- presence

struct Presence : ::testing::Test {
    Rig rig;
    Client watcher;
    void SetUp() override {
        rig.start();
        watcher = rig.connect("bob");
    }
    int offline_count() const { return int(watcher.events("user:offline").size()); }
};

TEST_F(Presence, OnlineOnceOfflineOnceAfterGrace) {
    Client d1 = rig.connect("alice", named("Alice A."), "d1");
    Client d2 = rig.connect("alice", {}, "d2");
    Client d3 = rig.connect("alice", {}, "d3");
    std::vector<Json> on = watcher.events("user:online");
    ASSERT_EQ(on.size(), 1u);
    EXPECT_EQ(on[0]["userId"].str(), "alice");
    EXPECT_EQ(on[0]["name"].str(), "Alice A.");
    EXPECT_GT(on[0]["ts"].num(), 1.5e12);
    // user:online is not sent to the user's own sockets.
    for (const Client* c : {&d1, &d2, &d3}) EXPECT_TRUE(c->events("user:online").empty());

    d1.close();
    d2.close();
    rig.t.advance(rig.settings.presence.grace_ms * 3);
    EXPECT_EQ(offline_count(), 0);
    d3.close();
    rig.t.advance(rig.settings.presence.grace_ms - 1);
    EXPECT_EQ(offline_count(), 0) << "user:offline before the grace period ended";
    rig.t.advance(1);
    ASSERT_EQ(offline_count(), 1);
    Json off = watcher.events("user:offline")[0];
    EXPECT_EQ(off["userId"].str(), "alice");
    EXPECT_TRUE(off["lastSeen"].is_number());
    EXPECT_LE(off["lastSeen"].num(), off["ts"].num());
    rig.t.advance(60000);
    EXPECT_EQ(offline_count(), 1);
    EXPECT_EQ(rig.hub->users_online(), 1u); // bob
}

TEST_F(Presence, ReconnectWithinGraceEmitsNothing) {
    Client d1 = rig.connect("alice");
    watcher.clear();
    d1.close();
    rig.t.advance(rig.settings.presence.grace_ms / 2);
    Client d2 = rig.connect("alice");
    rig.t.advance(rig.settings.presence.grace_ms * 2);
    EXPECT_TRUE(watcher.events("user:offline").empty());
    EXPECT_TRUE(watcher.events("user:online").empty());
    // Gone again later: the stale timer of the first disconnect must not cut the new grace short.
    d2.close();
    rig.t.advance(rig.settings.presence.grace_ms - 1);
    EXPECT_TRUE(watcher.events("user:offline").empty());
    rig.t.advance(1);
    EXPECT_EQ(watcher.events("user:offline").size(), 1u);
    // And back after the offline: user:online again.
    Client d3 = rig.connect("alice");
    EXPECT_EQ(watcher.events("user:online").size(), 1u);
}

TEST_F(Presence, StaleTimerDuringSecondGraceDoesNothing) {
    Client d1 = rig.connect("alice");
    watcher.clear();
    d1.close();                                            // offline due at T+grace
    rig.t.advance(1000);
    Client d2 = rig.connect("alice");
    rig.t.advance(1000);
    d2.close();                                            // new due at T+2000+grace
    rig.t.advance(rig.settings.presence.grace_ms - 2000);  // the first timer fires here
    EXPECT_TRUE(watcher.events("user:offline").empty());
    rig.t.advance(2000);
    EXPECT_EQ(watcher.events("user:offline").size(), 1u);
}

Json presence_of(const Client& c, const std::string& users, int ack) {
    c.emit("[\"presence:get\",{\"userIds\":" + users + "}]", ack);
    Json a = c.ack(ack);
    EXPECT_TRUE(a["ok"].is_true()) << a.dump();
    return a["presence"];
}

TEST_F(Presence, GetShapes) {
    Client d1 = rig.connect("alice", {}, "laptop");
    Client d2 = rig.connect("alice", {}, "phone");
    Client d3 = rig.connect("alice", {}, "phone");
    Json p = presence_of(watcher, R"(["alice","nobody"])", 1);
    ASSERT_EQ(p.size(), 2);
    EXPECT_EQ(p[0].dump(), R"({"userId":"alice","online":true,"status":"online","lastSeen":null,"devices":2})");
    EXPECT_EQ(p[1].dump(), R"({"userId":"nobody","online":false,"status":"offline","lastSeen":null,"devices":0})");

    d1.emit(R"(["presence:set",{"status":"away"}])", 2);
    EXPECT_EQ(d1.ack(2).dump(), R"({"ok":true,"status":"away"})");
    std::vector<Json> upd = watcher.events("presence:update");
    ASSERT_EQ(upd.size(), 1u);
    EXPECT_EQ(upd[0]["status"].str(), "away");
    EXPECT_EQ(upd[0]["userId"].str(), "alice");
    EXPECT_EQ(d2.events("presence:update").size(), 1u); // presence:update reaches the user's own sockets too

    d1.close();
    p = presence_of(watcher, R"(["alice"])", 3);
    EXPECT_EQ(p[0].dump(), R"({"userId":"alice","online":true,"status":"away","lastSeen":null,"devices":1})");
    d2.close();
    d3.close();
    // Inside the grace period: still online (PROTOCOL.md §13), lastSeen null while online.
    p = presence_of(watcher, R"(["alice"])", 4);
    EXPECT_TRUE(p[0]["online"].is_true()) << p.dump();
    EXPECT_TRUE(p[0]["lastSeen"].is_null()) << p.dump();
    rig.t.advance(rig.settings.presence.grace_ms);
    p = presence_of(watcher, R"(["alice"])", 5);
    EXPECT_TRUE(p[0]["online"].is_false()) << p.dump();
    EXPECT_EQ(p[0]["status"].str(), "offline");
    EXPECT_TRUE(p[0]["lastSeen"].is_number()) << p.dump();
    EXPECT_GT(p[0]["lastSeen"].num(), 1.5e12);
    EXPECT_EQ(p[0]["devices"].num(), 0);
    // Status persists while the server runs.
    Client d4 = rig.connect("alice");
    p = presence_of(watcher, R"(["alice"])", 6);
    EXPECT_EQ(p[0]["status"].str(), "away");
    EXPECT_TRUE(p[0]["lastSeen"].is_null());
}

TEST_F(Presence, GetByRoom) {
    Client a = rig.connect("alice");
    rig.join(a, "lobby");
    rig.join(watcher, "lobby");
    watcher.emit(R"(["presence:get",{"room":"lobby"}])", 1);
    Json p = watcher.ack(1)["presence"];
    ASSERT_EQ(p.size(), 2) << watcher.ack(1).dump();
    EXPECT_EQ(p[0]["userId"].str(), "alice");
    EXPECT_EQ(p[1]["userId"].str(), "bob");
    Client c = rig.connect("carol");
    c.emit(R"(["presence:get",{"room":"lobby"}])", 2);
    EXPECT_EQ(c.ack(2)["error"]["code"].str(), "not_member");
}

TEST(PresenceScope, RoomsScopeReachesOnlyRoomMatesAndAdmins) {
    Rig rig;
    rig.settings.presence.scope = "rooms";
    rig.start();
    Client mate = rig.connect("bob");
    Client stranger = rig.connect("carol");
    Client admin = rig.connect("root", as_admin());
    Client a = rig.connect("alice");
    rig.join(a, "lobby");
    rig.join(mate, "lobby");
    rig.clear_all();
    a.close();
    rig.t.advance(rig.settings.presence.grace_ms);
    EXPECT_EQ(mate.events("user:offline").size(), 1u);
    EXPECT_EQ(admin.events("user:offline").size(), 1u);
    EXPECT_TRUE(stranger.events("user:offline").empty());
}

// ---------------------------------------------------------------- typing

struct Typing : ::testing::Test {
    Rig rig;
    Client a1, a2, b1, c1;
    void SetUp() override {
        a1 = rig.connect("alice");
        a2 = rig.connect("alice");
        b1 = rig.connect("bob");
        c1 = rig.connect("carol");
        rig.join(a1, "lobby");
        rig.join(b1, "lobby");
        rig.clear_all();
    }
};

TEST_F(Typing, ForwardedToOtherUsersOnlyAndExpiresAfterFiveSeconds) {
    a1.emit(R"(["typing",{"room":"lobby","active":true}])", 1);
    EXPECT_EQ(a1.ack(1).dump(), R"({"ok":true})");
    std::vector<Json> t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].dump(), R"({"room":"lobby","userId":"alice","active":true})");
    EXPECT_TRUE(a1.events("user:typing").empty());
    EXPECT_TRUE(a2.events("user:typing").empty());
    EXPECT_TRUE(c1.events("user:typing").empty());
    rig.t.advance(4999);
    EXPECT_EQ(b1.events("user:typing").size(), 1u);
    rig.t.advance(1);
    t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[1].dump(), R"({"room":"lobby","userId":"alice","active":false})");
    EXPECT_TRUE(a2.events("user:typing").empty());
    rig.t.advance(20000);
    EXPECT_EQ(b1.events("user:typing").size(), 2u);
}

TEST_F(Typing, RefreshRestartsTheTimer) {
    a1.emit(R"(["typing",{"room":"lobby","active":true}])");
    rig.t.advance(3000);
    a2.emit(R"(["typing",{"room":"lobby","active":true}])"); // another socket of the same user
    rig.t.advance(2000);                                      // the first timer: no expiry yet
    std::vector<Json> t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_TRUE(t[1]["active"].is_true());
    rig.t.advance(2999);
    EXPECT_EQ(b1.events("user:typing").size(), 2u);
    rig.t.advance(1);
    t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 3u);
    EXPECT_TRUE(t[2]["active"].is_false());
}

TEST_F(Typing, ExplicitStopIsForwardedOnceAndCancelsExpiry) {
    a1.emit(R"(["typing",{"room":"lobby","active":true}])");
    a1.emit(R"(["typing",{"room":"lobby","active":false}])");
    std::vector<Json> t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_TRUE(t[1]["active"].is_false());
    rig.t.advance(10000);
    EXPECT_EQ(b1.events("user:typing").size(), 2u);
}

TEST_F(Typing, LastSocketGoingSendsInactive) {
    a1.emit(R"(["typing",{"room":"lobby","active":true}])");
    a1.close();
    EXPECT_EQ(b1.events("user:typing").size(), 1u); // alice still has a2
    a2.close();
    std::vector<Json> t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_TRUE(t[1]["active"].is_false());
    rig.t.advance(10000);
    EXPECT_EQ(b1.events("user:typing").size(), 2u);
}

TEST_F(Typing, LeavingTheRoomStopsTyping) {
    a1.emit(R"(["typing",{"room":"lobby","active":true}])");
    a1.emit(R"(["room:leave",{"room":"lobby"}])", 2);
    ASSERT_TRUE(a1.ack(2)["ok"].is_true());
    std::vector<Json> t = b1.events("user:typing");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_TRUE(t[1]["active"].is_false());
    rig.t.advance(10000);
    EXPECT_EQ(b1.events("user:typing").size(), 2u);
}

TEST_F(Typing, NotMember) {
    c1.emit(R"(["typing",{"room":"lobby","active":true}])", 1);
    EXPECT_EQ(c1.ack(1)["error"]["code"].str(), "not_member");
    EXPECT_TRUE(b1.events("user:typing").empty());
}

// ---------------------------------------------------------------- admin events

TEST(Admin, BroadcastReachesEverySocket) {
    Rig rig;
    Client admin = rig.connect("root", as_admin());
    Client a = rig.connect("alice"), b = rig.connect("bob"), b2 = rig.connect("bob");
    rig.clear_all();
    admin.emit(R"(["admin:broadcast",{"message":"reboot at 5"}])", 1);
    EXPECT_EQ(admin.ack(1).dump(), R"({"ok":true})");
    for (const Client* c : {&admin, &a, &b, &b2}) {
        std::vector<Json> m = c->events("system:maintenance");
        ASSERT_EQ(m.size(), 1u);
        EXPECT_EQ(m[0]["message"].str(), "reboot at 5");
        EXPECT_GT(m[0]["ts"].num(), 1.5e12);
    }
}

TEST(Admin, DisconnectCutsEverySocketOfTheUser) {
    Rig rig;
    Client admin = rig.connect("root", as_admin());
    Client a = rig.connect("alice"), b = rig.connect("bob"), b2 = rig.connect("bob");
    rig.clear_all();
    admin.emit(R"(["admin:disconnect",{"userId":"bob","reason":"maintenance"}])", 1);
    Json ack = admin.ack(1);
    EXPECT_TRUE(ack["ok"].is_true()) << ack.dump();
    EXPECT_EQ(ack["userId"].str(), "bob");
    EXPECT_EQ(ack["sockets"].num(), 2);
    for (const Client* c : {&b, &b2}) {
        const std::vector<std::string>& f = c->frames();
        ASSERT_EQ(f.size(), 2u);
        Packet err = decode(f[0]);
        EXPECT_EQ(err.args[0].str(), "server:error");
        EXPECT_EQ(err.args[1]["code"].str(), "disconnected_by_admin");
        EXPECT_EQ(err.args[1]["message"].str(), "maintenance");
        EXPECT_EQ(f[1], "41");
        EXPECT_TRUE(c->closed());
    }
    EXPECT_FALSE(a.closed());
    EXPECT_TRUE(a.events("server:error").empty());
    EXPECT_EQ(rig.hub->sockets(), 2u);
    admin.emit(R"(["admin:disconnect",{"userId":"nobody"}])", 2);
    EXPECT_EQ(admin.ack(2)["sockets"].num(), 0);
}

TEST(Admin, StatsSplicesTheProvider) {
    Rig rig;
    rig.start();
    rig.hub->set_stats_provider([] { return std::string(R"({"connections":3,"uptimeS":12})"); });
    Client admin = rig.connect("root", as_admin());
    admin.emit(R"(["admin:stats",{}])", 1);
    EXPECT_EQ(admin.ack(1).dump(), R"({"ok":true,"connections":3,"uptimeS":12})");
    admin.emit(R"(["admin:stats"])", 2);
    EXPECT_TRUE(admin.ack(2)["ok"].is_true());
}

// ---------------------------------------------------------------- capacity

// limits.max_rooms: a new room past it is refused with room_full (join and direct message), and
// an empty room is reclaimed, so the count goes down and a new room fits again.
TEST(Capacity, RoomsAreCappedAndEmptyOnesReclaimed) {
    Rig rig;
    rig.settings.limits.max_rooms = 2;
    rig.start();
    Client a = rig.connect("alice"), b = rig.connect("bob");
    rig.join(a, "r1");
    rig.join(a, "r2");
    EXPECT_EQ(rig.hub->rooms(), 2u);
    a.emit(R"(["room:join",{"room":"r3"}])", 1);
    EXPECT_EQ(a.ack(1)["error"]["code"].str(), "room_full") << a.ack(1).dump();
    a.emit(R"(["message:send",{"to":"bob","body":1,"clientId":"c1"}])", 2);
    EXPECT_EQ(a.ack(2)["error"]["code"].str(), "room_full") << a.ack(2).dump();
    a.emit(R"(["room:leave",{"room":"r1"}])", 3);
    EXPECT_TRUE(a.ack(3)["ok"].is_true());
    EXPECT_EQ(rig.hub->rooms(), 1u); // r1 is empty: reclaimed
    a.emit(R"(["room:join",{"room":"r3"}])", 4);
    EXPECT_TRUE(a.ack(4)["ok"].is_true()) << a.ack(4).dump();
    b.emit(R"(["room:join",{"room":"r1"}])", 5); // r2 and r3 are live: no room for r1 again
    EXPECT_EQ(b.ack(5)["error"]["code"].str(), "room_full") << b.ack(5).dump();
    EXPECT_EQ(rig.hub->rooms(), 2u);
}

// A typing timer kept past its room's reclamation finds nothing, even once the slot is reused.
TEST(Capacity, ReusedRoomSlotIgnoresTheOldRoomsTimers) {
    Rig rig;
    rig.settings.limits.max_rooms = 1;
    rig.start();
    Client a = rig.connect("alice"), b = rig.connect("bob");
    rig.join(a, "r1");
    a.emit(R"(["typing",{"room":"r1","active":true}])");
    a.emit(R"(["room:leave",{"room":"r1"}])", 1);
    EXPECT_EQ(rig.hub->rooms(), 0u);
    rig.join(b, "r2"); // same slot, next generation
    rig.join(a, "r2");
    b.clear();
    b.emit(R"(["typing",{"room":"r2","active":true}])");
    rig.t.advance(5000); // alice's r1 timer is due: it must not touch r2
    std::vector<Json> typing = b.events("user:typing");
    for (const Json& t : typing) EXPECT_NE(t["userId"].str(), "alice") << t.dump();
}

// limits.max_users: a user the hub does not know yet is refused (unavailable) once it holds that
// many; a known user still connects.
TEST(Capacity, UsersAreCapped) {
    Rig rig;
    rig.settings.limits.max_users = 1;
    rig.start();
    Client a = rig.connect("alice");
    Client b = rig.connect_raw("bob", "{\"token\":\"" + rig.token("bob") + "\"}");
    EXPECT_FALSE(rig.layer->connected(b.id));
    ASSERT_EQ(b.frames().size(), 1u);
    Packet p = decode(b.frames()[0]);
    EXPECT_EQ(p.type, '4') << p.raw;
    EXPECT_EQ(p.args["data"]["code"].str(), "unavailable") << p.raw;
    Client a2 = rig.connect("alice");
    EXPECT_TRUE(rig.layer->connected(a2.id));
}

} // namespace
} // namespace outpost::hub::test
