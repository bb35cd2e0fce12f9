// messages_test.cpp - message:send, receipts, history and the connect-time sync through a real
// Hub + SocketLayer + fake transport over a real store::Store in a temporary directory.
#include <gtest/gtest.h>

#include <algorithm>
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

// The ack id of the newest message:new with `seq` that `c` received (-1 when none).
int64_t ack_id_of(const Client& c, int seq) {
    int64_t id = -1;
    for (const std::string& f : c.frames()) {
        Packet p = decode(f);
        if (p.type == '2' && p.args[0].str() == "message:new" && p.args[1]["seq"].num() == seq) id = p.id;
    }
    return id;
}
int count_new(const Client& c, int seq) {
    int n = 0;
    for (const Json& m : c.events("message:new")) n += m["seq"].num() == seq;
    return n;
}
int64_t delivered_seq(const Client& c) { // the highest delivered status seen for bob
    int64_t seq = 0;
    for (const Json& st : c.events("message:status"))
        if (st["status"].str() == "delivered" && st["userId"].str() == "bob") seq = std::max(seq, int64_t(st["seq"].num()));
    return seq;
}
void ack_frame(Rig& rig, const Client& c, int64_t ack_id) {
    ASSERT_GE(ack_id, 1);
    rig.layer->on_message(c.id.session, EioPacket{EioType::message, false, "3" + std::to_string(ack_id) + "[]"});
    rig.settle();
}

// Issue 14 defect 1: a message handed to a socket and lost on the way (a dropped poll) must not
// be confirmed by the ack of a later one. Acking 3 while 2 is unanswered keeps bob's cursor at 1
// and sends 2 again; acking that copy moves the cursor to 3.
TEST_F(Messages, AckPastAnUnansweredMessageHoldsTheCursorAndResendsIt) {
    for (int i = 1; i <= 3; ++i) send(a1, "\"room\":\"lobby\",\"body\":" + std::to_string(i) + ",\"clientId\":\"h" + std::to_string(i) + "\"", i);
    ASSERT_EQ(count_new(b1, 2), 1);
    ack_frame(rig, b1, ack_id_of(b1, 1));
    EXPECT_EQ(delivered_seq(a1), 1);
    int64_t first_2 = ack_id_of(b1, 2);
    ack_frame(rig, b1, ack_id_of(b1, 3)); // 2 was lost on the way
    EXPECT_EQ(delivered_seq(a1), 1) << "the ack of 3 confirmed 2, which bob never acknowledged";
    ASSERT_EQ(count_new(b1, 2), 2) << "2 is sent again in the same session";
    EXPECT_NE(ack_id_of(b1, 2), first_2) << "with a fresh ack id";
    ack_frame(rig, b1, first_2); // the old id is no longer held: ignored
    EXPECT_EQ(delivered_seq(a1), 1);
    // A later ack of 3 (duplicate id) or of nothing does not resend 2 again.
    EXPECT_EQ(count_new(b1, 2), 2);
    ack_frame(rig, b1, ack_id_of(b1, 2));
    EXPECT_EQ(delivered_seq(a1), 3) << "2 answered: the held ack of 3 applies";

    // The cursor is the device's: a new socket of bob's device replays from it.
    send(a1, R"("room":"lobby","body":4,"clientId":"h4")", 4);
    send(a1, R"("room":"lobby","body":5,"clientId":"h5")", 5);
    ack_frame(rig, b1, ack_id_of(b1, 5)); // 4 lost
    EXPECT_EQ(delivered_seq(a1), 3);
    b1.close();
    rig.settle();
    Client again = rig.connect("bob");
    std::vector<int> seqs;
    for (const Json& m : again.events("message:new")) seqs.push_back(int(m["seq"].num()));
    EXPECT_EQ(seqs, (std::vector<int>{4, 5}));
}

// When bob's ack table overflows (256 unanswered message:new), the dropped entries still hold
// the cursor back: an ack of the newest cannot confirm the oldest, which are sent again.
TEST_F(Messages, AckAfterTheAckTableDroppedEntriesDoesNotSkipThem) {
    const int n = int(sio::AckTable::kMaxEntries) + 2;
    for (int i = 1; i <= n; ++i) send(a1, "\"room\":\"lobby\",\"body\":" + std::to_string(i) + ",\"clientId\":\"d" + std::to_string(i) + "\"", i);
    ASSERT_EQ(count_new(b1, 1), 1);
    ack_frame(rig, b1, ack_id_of(b1, n));
    EXPECT_EQ(delivered_seq(a1), 0) << "1 and 2 left the full table unanswered";
    EXPECT_EQ(count_new(b1, 1), 2) << "the dropped ones are sent again";
    EXPECT_EQ(count_new(b1, 2), 2);
    // Bob answers everything he now holds, in the order received: the cursor reaches n.
    std::vector<int64_t> ids;
    for (const std::string& f : b1.frames()) {
        Packet p = decode(f);
        if (p.type == '2' && p.args[0].str() == "message:new") ids.push_back(p.id);
    }
    for (int round = 0; round < 8 && delivered_seq(a1) < n; ++round) {
        for (int64_t id : ids) ack_frame(rig, b1, id);
        ids.clear();
        for (int s = 1; s <= n; ++s) // copies sent again meanwhile
            if (count_new(b1, s) > 1) ids.push_back(ack_id_of(b1, s));
    }
    EXPECT_EQ(delivered_seq(a1), n);
}

// The largest limits.max_send_queue_bytes (2^32) is a replay budget of 2^33 bytes, not 0: a
// 32-bit size_t wrapped it (every replayed message became a sync:gap on armhf).
TEST_F(Messages, ReplayBudgetHoldsTheLargestSendQueueLimit) {
    rig.settings.limits.max_send_queue_bytes = 4294967296;
    rig.hub->set_settings(rig.settings);
    send(a1, R"("room":"lobby","body":"one","clientId":"q1")", 1);
    send(a1, R"("room":"lobby","body":"two","clientId":"q2")", 2);
    Client tablet = rig.connect("bob", {}, "tablet");
    std::vector<std::string> want{"connection:established", "message:new", "message:new", "sync:complete"};
    EXPECT_EQ(tablet.event_names(), want);
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
