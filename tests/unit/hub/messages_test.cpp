// messages_test.cpp - message:send, receipts, history and the connect-time sync through a real
// Hub + SocketLayer + fake transport over a real store::Store in a temporary directory.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "hub_test_util.h"

namespace outpost::hub::test {
namespace {

struct Messages : ::testing::Test {
    TempDir dir;
    std::unique_ptr<store::Store> st;
    Rig rig;
    Client a1, a2, b1, c1;

    void SetUp() override {
        store::StoreOptions o;
        o.path = dir.path + "/outpost.db";
        o.synchronous_full = false;
        o.commit_interval_ms = 1;
        o.max_age_s = 0; // no age retention in this test
        Result<std::unique_ptr<store::Store>> r = store::Store::open(o, [] {});
        ASSERT_TRUE(r.ok()) << r.error().message;
        st = std::move(r).value();
        rig.settings.limits.max_body = 64;
        rig.start(st.get());
        a1 = rig.connect("alice", {}, "laptop");
        a2 = rig.connect("alice", {}, "phone");
        b1 = rig.connect("bob");
        c1 = rig.connect("carol");
        rig.join(a1, "lobby");
        rig.join(b1, "lobby");
        rig.clear_all();
    }
    void TearDown() override {
        rig.settle();
        rig.hub.reset(); // before the store it points to
        st.reset();
    }
    Json send(const Client& c, const std::string& fields, int64_t ack) {
        c.emit("[\"message:send\",{" + fields + "}]", ack);
        rig.settle();
        return c.ack(ack);
    }
};

TEST_F(Messages, SendAcksAfterCommitAndFansOutToEveryOtherSocket) {
    Json a = send(a1, R"("room":"lobby","body":{"text":"hi"},"clientId":"c1")", 1);
    ASSERT_TRUE(a["ok"].is_true()) << a.dump();
    EXPECT_EQ(a["room"].str(), "lobby");
    EXPECT_EQ(a["seq"].num(), 1);
    EXPECT_TRUE(a["duplicate"].is_false());
    EXPECT_FALSE(a["id"].str().empty());
    EXPECT_GT(a["ts"].num(), 1.5e12);
    EXPECT_TRUE(a1.events("message:new").empty()); // not the sending socket
    for (const Client* c : {&a2, &b1}) {
        std::vector<Json> m = c->events("message:new");
        ASSERT_EQ(m.size(), 1u);
        EXPECT_EQ(m[0]["id"].str(), a["id"].str());
        EXPECT_EQ(m[0]["room"].str(), "lobby");
        EXPECT_EQ(m[0]["seq"].num(), 1);
        EXPECT_EQ(m[0]["from"].str(), "alice");
        EXPECT_EQ(m[0]["body"].dump(), R"({"text":"hi"})");
        EXPECT_EQ(m[0]["ts"].num(), a["ts"].num());
        EXPECT_EQ(m[0]["clientId"].str(), "c1");
    }
    EXPECT_TRUE(c1.events("message:new").empty());
    // The same encoded frame (with an app ack id) went to both recipients.
    std::string fa, fb;
    for (const std::string& f : a2.frames())
        if (f.find("message:new") != std::string::npos) fa = f;
    for (const std::string& f : b1.frames())
        if (f.find("message:new") != std::string::npos) fb = f;
    EXPECT_EQ(fa, fb);
    EXPECT_GE(decode(fa).id, 1);
    EXPECT_LE(decode(fa).id, int64_t(sio::kMaxServerAckId)); // PROTOCOL.md §13: 31 bits
}

TEST_F(Messages, ResendIsDuplicateWithTheFirstAckAndNoDelivery) {
    Json first = send(a1, R"("room":"lobby","body":1,"clientId":"k")", 1);
    Json again = send(a2, R"("room":"lobby","body":2,"clientId":"k")", 2);
    ASSERT_TRUE(again["ok"].is_true()) << again.dump();
    EXPECT_TRUE(again["duplicate"].is_true());
    EXPECT_EQ(again["id"].str(), first["id"].str());
    EXPECT_EQ(again["seq"].num(), first["seq"].num());
    EXPECT_EQ(again["ts"].num(), first["ts"].num());
    EXPECT_EQ(b1.events("message:new").size(), 1u);
    Json next = send(a1, R"("room":"lobby","body":3,"clientId":"k2")", 3);
    EXPECT_EQ(next["seq"].num(), 2);
}

TEST_F(Messages, DirectMessageMakesBothMembersWithoutMemberJoined) {
    Json a = send(b1, R"("to":"alice","body":"psst","clientId":"d1")", 1);
    ASSERT_TRUE(a["ok"].is_true()) << a.dump();
    EXPECT_EQ(a["room"].str(), "dm:alice:bob");
    EXPECT_EQ(a2.events("message:new").size(), 1u);
    EXPECT_EQ(a1.events("message:new").size(), 1u);
    EXPECT_TRUE(b1.events("message:new").empty());
    for (const Client* c : {&a1, &a2, &b1, &c1}) EXPECT_TRUE(c->events("room:member_joined").empty());
    Json back = send(a1, R"("room":"dm:alice:bob","body":"ok","clientId":"d2")", 2);
    EXPECT_EQ(back["seq"].num(), 2) << back.dump();
    Json sys = send(a1, R"("to":"system","body":"x","clientId":"d3")", 3);
    EXPECT_EQ(sys["error"]["code"].str(), "forbidden");
}

TEST_F(Messages, Refusals) {
    Json a = send(c1, R"("room":"lobby","body":1,"clientId":"x")", 1);
    EXPECT_EQ(a["error"]["code"].str(), "not_member") << a.dump();
    Json big = send(a1, "\"room\":\"lobby\",\"body\":\"" + std::string(63, 'b') + "\",\"clientId\":\"y\"", 2);
    EXPECT_EQ(big["error"]["code"].str(), "payload_too_large") << big.dump();
    EXPECT_EQ(big["error"]["message"].str(), "body: 65 bytes, over limits.max_body (64)");
    Json fits = send(a1, "\"room\":\"lobby\",\"body\":\"" + std::string(62, 'b') + "\",\"clientId\":\"z\"", 3);
    EXPECT_TRUE(fits["ok"].is_true()) << fits.dump();
}

TEST_F(Messages, DeliveredAndReadReachOtherMembers) {
    send(a1, R"("room":"lobby","body":1,"clientId":"m1")", 1);
    send(a1, R"("room":"lobby","body":2,"clientId":"m2")", 2);
    rig.clear_all();
    b1.emit(R"(["message:delivered",{"room":"lobby","seq":2}])", 3);
    EXPECT_EQ(b1.ack(3).dump(), R"({"ok":true,"room":"lobby","seq":2})");
    for (const Client* c : {&a1, &a2}) {
        std::vector<Json> s = c->events("message:status");
        ASSERT_EQ(s.size(), 1u);
        EXPECT_EQ(s[0]["userId"].str(), "bob");
        EXPECT_EQ(s[0]["seq"].num(), 2);
        EXPECT_EQ(s[0]["status"].str(), "delivered");
    }
    EXPECT_TRUE(b1.events("message:status").empty());
    // Cumulative: a lower seq changes nothing.
    b1.emit(R"(["message:delivered",{"room":"lobby","seq":1}])", 4);
    EXPECT_EQ(a1.events("message:status").size(), 1u);
    b1.emit(R"(["message:read",{"room":"lobby","seq":2}])", 5);
    ASSERT_EQ(a1.events("message:status").size(), 2u);
    EXPECT_EQ(a1.events("message:status")[1]["status"].str(), "read");
    c1.emit(R"(["message:read",{"room":"lobby","seq":2}])", 6);
    EXPECT_EQ(c1.ack(6)["error"]["code"].str(), "not_member");
}

TEST_F(Messages, HistoryPages) {
    for (int i = 1; i <= 5; ++i) send(a1, "\"room\":\"lobby\",\"body\":" + std::to_string(i) + ",\"clientId\":\"h" + std::to_string(i) + "\"", i);
    b1.emit(R"(["history:get",{"room":"lobby","limit":2}])", 10);
    Json h = b1.ack(10);
    ASSERT_TRUE(h["ok"].is_true()) << h.dump();
    ASSERT_EQ(h["messages"].size(), 2);
    EXPECT_EQ(h["messages"][0]["seq"].num(), 4);
    EXPECT_EQ(h["messages"][1]["seq"].num(), 5);
    EXPECT_TRUE(h["hasMore"].is_true());
    b1.emit(R"(["history:get",{"room":"lobby","after":3}])", 11);
    h = b1.ack(11);
    ASSERT_EQ(h["messages"].size(), 2);
    EXPECT_EQ(h["messages"][0]["seq"].num(), 4);
    EXPECT_TRUE(h["hasMore"].is_false());
}

TEST_F(Messages, NewDeviceReplaysThenSyncComplete) {
    send(a1, R"("room":"lobby","body":"one","clientId":"s1")", 1);
    send(a1, R"("room":"lobby","body":"two","clientId":"s2")", 2);
    Client tablet = rig.connect("bob", {}, "tablet");
    std::vector<std::string> names = tablet.event_names();
    ASSERT_GE(names.size(), 4u);
    EXPECT_EQ(names[0], "connection:established");
    std::vector<Json> replay = tablet.events("message:new");
    ASSERT_EQ(replay.size(), 2u);
    EXPECT_EQ(replay[0]["seq"].num(), 1);
    EXPECT_EQ(replay[1]["seq"].num(), 2);
    EXPECT_EQ(names.back(), "sync:complete");
    EXPECT_EQ(tablet.events("sync:complete")[0].dump(), R"({"rooms":{"lobby":2}})");
    Client carol2 = rig.connect("carol", {}, "other");
    EXPECT_EQ(carol2.events("sync:complete").at(0).dump(), R"({"rooms":{}})");
}


// PROTOCOL.md §7: calling the ack callback the server attaches to every message:new confirms
// delivery like message:delivered (other members see message:status "delivered").
TEST_F(Messages, AckingMessageNewConfirmsDeliveryInEveryRoom) {
    rig.join(a1, "second");
    rig.join(b1, "second");
    for (const char* room : {"second", "lobby"}) { // "lobby" was created first: room index 0
        rig.clear_all();
        send(a1, std::string("\"room\":\"") + room + "\",\"body\":1,\"clientId\":\"ack-" + room + "\"", 1);
        int64_t ack_id = -1;
        for (const std::string& f : b1.frames()) {
            Packet p = decode(f);
            if (p.type == '2' && p.args[0].str() == "message:new") ack_id = p.id;
        }
        ASSERT_GE(ack_id, 1) << room;
        ASSERT_LE(ack_id, int64_t(sio::kMaxServerAckId)) << room;
        rig.layer->on_message(b1.id.session, EioPacket{EioType::message, false, "3" + std::to_string(ack_id) + "[]"});
        std::vector<Json> statuses = a1.events("message:status");
        ASSERT_EQ(statuses.size(), 1u) << "room " << room << ": bob acknowledged message:new (ack id " << ack_id
                                 << ") but no delivered receipt followed";
        EXPECT_EQ(statuses[0]["status"].str(), "delivered");
        EXPECT_EQ(statuses[0]["room"].str(), room);
        EXPECT_EQ(statuses[0]["userId"].str(), "bob");
    }
}

// PROTOCOL.md §13 Cursors: replay skips the messages that the same device sent.
TEST_F(Messages, ReplaySkipsTheDevicesOwnMessages) {
    send(a1, R"("room":"lobby","body":"mine","clientId":"own1")", 1);
    send(b1, R"("room":"lobby","body":"theirs","clientId":"b1")", 2);
    a1.close();
    Client again = rig.connect("alice", {}, "laptop");
    std::vector<Json> replay = again.events("message:new");
    std::vector<int> seqs;
    for (const Json& m : replay) seqs.push_back(int(m["seq"].num()));
    EXPECT_EQ(seqs, (std::vector<int>{2})) << "the laptop sent seq 1 itself";
}

TEST_F(Messages, GapBeforeReplayWhenMoreThanReplayMaxWereMissed) {
    rig.settings.limits.replay_max = 2;
    rig.hub->set_settings(rig.settings);
    for (int i = 1; i <= 5; ++i) send(a1, "\"room\":\"lobby\",\"body\":" + std::to_string(i) + ",\"clientId\":\"g" + std::to_string(i) + "\"", i);
    Client tablet = rig.connect("bob", {}, "tablet");
    std::vector<std::string> names = tablet.event_names();
    std::vector<std::string> want{"connection:established", "sync:gap", "message:new", "message:new", "sync:complete"};
    EXPECT_EQ(names, want);
    ASSERT_EQ(tablet.events("sync:gap").size(), 1u);
    EXPECT_EQ(tablet.events("sync:gap")[0].dump(), R"({"room":"lobby","fromSeq":1,"toSeq":3})");
    std::vector<Json> m = tablet.events("message:new");
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0]["seq"].num(), 4);
    EXPECT_EQ(m[1]["seq"].num(), 5);
}

} // namespace
} // namespace outpost::hub::test
