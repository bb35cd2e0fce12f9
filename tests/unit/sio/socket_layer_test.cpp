// socket_layer_test.cpp - The Socket.IO layer driven through a fake transport: connect, events,
// acks both ways (with timeout), attachments, and every malformed packet closing its session.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <memory>
#include <string>
#include <vector>

#include "sio/socket_layer.h"

namespace outpost::sio {
namespace {

using net::SessionId;
using proto::EioPacket;
using proto::EioType;

class FakeTransport final : public net::Transport {
public:
    bool send(SessionId, const pool::FrameRef& f, bool) override {
        sent.emplace_back(f->binary ? "<bin>" + std::string(f->view()) : std::string(f->view()));
        return true;
    }
    void close(SessionId, std::string_view reason, bool) override { closed.emplace_back(reason); }
    bool alive(SessionId) const override { return closed.empty(); }
    size_t queued_bytes(SessionId) const override { return 0; }
    int eio_version(SessionId) const override { return 4; }
    core::Timers& timers() override { return timers_; }
    int64_t now_ms() const override { return now; }
    const net::EngineStats& stats() const override { return stats_; }
    void http_reply(uint64_t, const net::HttpResponse&) override {}

    void advance(int64_t ms) {
        now += ms;
        timers_.run_due(now);
    }

    std::vector<std::string> sent;
    std::vector<std::string> closed;
    int64_t now = 1000;

private:
    core::Timers timers_;
    net::EngineStats stats_;
};

class EchoApp final : public App {
public:
    int namespace_index(std::string_view p) const override { return p == "/" ? 0 : p == "/custom" ? 1 : -1; }
    std::string_view namespace_name(uint8_t i) const override { return i == 1 ? "/custom" : "/"; }
    void on_connect(SocketId s, const ConnectRequest& req) override {
        last_token = std::string(req.query_token);
        if (refuse) layer->refuse(s, R"({"message":"no","data":{"code":"token_missing"}})");
        else layer->accept(s);
    }
    void on_event(SocketId s, const Event& e) override {
        events.emplace_back(e.name);
        last_attachments = e.attachments ? *e.attachments : std::vector<std::string>{};
        if (e.ack_id >= 0) layer->ack(s, e.ack_id, "[\"ok\"]");
    }
    void on_disconnect(SocketId, std::string_view reason) override { disconnects.emplace_back(reason); }

    SocketLayer* layer = nullptr;
    bool refuse = false;
    std::string last_token;
    std::vector<std::string> events, disconnects, last_attachments;
};

struct Fixture : ::testing::Test {
    FakeTransport t;
    EchoApp app;
    std::unique_ptr<SocketLayer> layer = std::make_unique<SocketLayer>(t, app, 4, 5000);
    SessionId id{0, 1};

    void SetUp() override { app.layer = layer.get(); }
    void open(int eio = 4, std::string_view token = "") {
        net::OpenInfo info;
        info.eio = eio;
        info.token = token;
        layer->on_open(id, info);
    }
    void text(std::string_view s) { layer->on_message(id, EioPacket{EioType::message, false, s}); }
    void binary(std::string_view s) { layer->on_message(id, EioPacket{EioType::message, true, s}); }
};

TEST_F(Fixture, ConnectsMainNamespaceWithSid) {
    open();
    text("0");
    ASSERT_EQ(t.sent.size(), 1u);
    EXPECT_EQ(t.sent[0].rfind("40{\"sid\":\"", 0), 0u) << t.sent[0];
    EXPECT_TRUE(layer->connected(SocketId{id, 0}));
}

TEST_F(Fixture, UnknownNamespaceGetsInvalidNamespace) {
    open();
    text("0/random,");
    ASSERT_EQ(t.sent.size(), 1u);
    EXPECT_EQ(t.sent[0], "44/random,{\"message\":\"Invalid namespace\"}");
    EXPECT_TRUE(t.closed.empty());
}

TEST_F(Fixture, CustomNamespaceConnectAndDisconnectKeepsMain) {
    open();
    text("0");
    text("0/custom,");
    EXPECT_EQ(t.sent[1].rfind("40/custom,{\"sid\":", 0), 0u);
    text("1/custom,");
    EXPECT_TRUE(t.closed.empty());
    text("2[\"x\"]");
    EXPECT_EQ(app.events.back(), "x");
    text("1");
    EXPECT_TRUE(t.closed.empty()); // DISCONNECT ends the Socket.IO socket, not the session
    EXPECT_FALSE(layer->connected(SocketId{id, 0}));
}

// A client's "41" ends only that socket: the session may CONNECT again, and with nothing
// connected it is closed after the connect timeout (counted from the DISCONNECT).
TEST_F(Fixture, DisconnectOfMainKeepsSessionForNewConnect) {
    open();
    text("0");
    t.advance(4000);
    text("1");
    EXPECT_TRUE(t.closed.empty());
    ASSERT_EQ(app.disconnects.size(), 1u);
    t.advance(2000); // past the first connect deadline (5000 after open), not the new one
    EXPECT_TRUE(t.closed.empty());
    text("0");
    EXPECT_TRUE(layer->connected(SocketId{id, 0}));
    EXPECT_EQ(t.sent.back().rfind("40{\"sid\":\"", 0), 0u) << t.sent.back();
    for (int i = 0; i < 1000; ++i) { // CONNECT/DISCONNECT in a loop: one timer, not a thousand
        text("0");
        text("1");
    }
    EXPECT_LE(t.timers().size(), 2u);
    t.advance(5001);
    ASSERT_EQ(t.closed.size(), 1u);
    EXPECT_EQ(t.closed[0], "connect timeout");
}

TEST_F(Fixture, EventWithAckIsAnswered) {
    open();
    text("0");
    text("212[\"hello\",1]");
    EXPECT_EQ(app.events.back(), "hello");
    EXPECT_EQ(t.sent.back(), "4312[\"ok\"]");
}

TEST_F(Fixture, ServerEmitWithAckGetsAnswerOrTimeout) {
    open();
    text("0");
    struct Got {
        int calls = 0;
        bool timed_out = false;
        std::string args;
    } got;
    auto fn = [](void* ctx, SocketId, uint64_t token, const cJSON* args) {
        auto* g = static_cast<Got*>(ctx);
        ++g->calls;
        EXPECT_EQ(token, 77u);
        if (!args) {
            g->timed_out = true;
            return;
        }
        char* s = cJSON_PrintUnformatted(args);
        g->args = s;
        cJSON_free(s);
    };
    ASSERT_TRUE(layer->emit(SocketId{id, 0}, "[\"ping\",1]", fn, &got, 77, 1000));
    EXPECT_EQ(t.sent.back(), "421[\"ping\",1]"); // server ack ids start at 1 (1..2^31-1)
    text("31[\"pong\"]");
    EXPECT_EQ(got.calls, 1);
    EXPECT_EQ(got.args, "[\"pong\"]");
    t.advance(2000); // the answered ack must not time out later
    EXPECT_EQ(got.calls, 1);

    ASSERT_TRUE(layer->emit(SocketId{id, 0}, "[\"ping\"]", fn, &got, 77, 1000));
    t.advance(999);
    EXPECT_EQ(got.calls, 1);
    t.advance(1);
    EXPECT_EQ(got.calls, 2);
    EXPECT_TRUE(got.timed_out);
    EXPECT_EQ(layer->stats().acks_timed_out, 1u);
}

TEST_F(Fixture, BinaryEventIsReassembled) {
    open();
    text("0");
    text("52-[\"up\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    EXPECT_TRUE(app.events.empty());
    binary(std::string("\x01\x02", 2));
    EXPECT_TRUE(app.events.empty());
    binary("xyz");
    ASSERT_EQ(app.events.size(), 1u);
    EXPECT_EQ(app.last_attachments, (std::vector<std::string>{std::string("\x01\x02", 2), "xyz"}));
}

// Issue 12 defect 6: a binary packet's pending bytes (text + attachments so far) are bounded by
// max_payload, and it must be complete within the connect timeout.
TEST_F(Fixture, UnfinishedBinaryPacketIsBoundedInBytesAndTime) {
    layer = std::make_unique<SocketLayer>(t, app, 4, 5000, 1000);
    app.layer = layer.get();
    open();
    text("0");
    std::string ph = "{\"_placeholder\":true,\"num\":";
    text("53-[\"up\"," + ph + "0}," + ph + "1}," + ph + "2}]");
    binary(std::string(400, 'a'));
    binary(std::string(400, 'b'));
    EXPECT_TRUE(t.closed.empty());
    binary(std::string(400, 'c')); // 1200 bytes with the text: over 1000
    ASSERT_EQ(t.closed.size(), 1u);
    EXPECT_EQ(t.closed[0], "binary packet and attachments over max_payload");
    EXPECT_TRUE(app.events.empty());
    EXPECT_EQ(layer->stats().binary_cut, 1u);

    id = SessionId{1, 1}; // time: one attachment of two, then nothing
    open();
    text("0");
    text("52-[\"up\"," + ph + "0}," + ph + "1}]");
    binary("x");
    t.advance(4999);
    EXPECT_EQ(t.closed.size(), 1u);
    t.advance(1);
    ASSERT_EQ(t.closed.size(), 2u);
    EXPECT_EQ(t.closed[1], "binary packet not completed within connect_timeout_ms");

    id = SessionId{2, 1}; // completed packets leave one timer that re-arms for the next one only
    open();
    text("0");
    for (int i = 0; i < 100; ++i) {
        text("51-[\"up\"," + ph + "0}]");
        binary("x");
    }
    EXPECT_EQ(app.events.size(), 100u);
    text("51-[\"up\"," + ph + "0}]");
    t.advance(4999);
    EXPECT_EQ(t.closed.size(), 2u);
    t.advance(5000);
    ASSERT_EQ(t.closed.size(), 3u);
}

// Issue 12 defect 7: a session is closed after kMaxConnectRefusals refused CONNECTs, and the
// CONNECTs after that (e.g. the rest of one polling payload) are not read.
TEST_F(Fixture, RefusedConnectsCloseTheSessionAfterAFew) {
    app.refuse = true;
    open();
    for (int i = 0; i < 100; ++i) text("0");
    ASSERT_EQ(t.closed.size(), 1u);
    EXPECT_EQ(t.closed[0], "too many refused CONNECTs");
    EXPECT_EQ(layer->stats().connects_refused, uint64_t(kMaxConnectRefusals));
    size_t errors = 0;
    for (const std::string& f : t.sent) errors += f.rfind("44", 0) == 0;
    EXPECT_EQ(errors, size_t(kMaxConnectRefusals));
    id = SessionId{1, 1}; // unknown namespaces count too
    open();
    for (int i = 0; i < 10; ++i) text("0/nope,");
    EXPECT_EQ(t.closed.size(), 2u);
}

TEST_F(Fixture, ConnectTimeoutClosesSessionWithoutNamespace) {
    open();
    t.advance(4999);
    EXPECT_TRUE(t.closed.empty());
    t.advance(1);
    ASSERT_EQ(t.closed.size(), 1u);
}

TEST_F(Fixture, Eio3ConnectsMainImplicitlyAndClosesOnRefusal) {
    open(3, "tok");
    ASSERT_EQ(t.sent.size(), 1u);
    EXPECT_EQ(t.sent[0], "40");
    EXPECT_EQ(app.last_token, "tok");

    FakeTransport t2;
    EchoApp app2;
    app2.refuse = true;
    SocketLayer l2(t2, app2, 4, 5000);
    app2.layer = &l2;
    net::OpenInfo info;
    info.eio = 3;
    l2.on_open(id, info);
    ASSERT_EQ(t2.sent.size(), 1u);
    EXPECT_EQ(t2.sent[0], "44{\"message\":\"no\",\"data\":{\"code\":\"token_missing\"}}");
    EXPECT_EQ(t2.closed.size(), 1u);
}

TEST_F(Fixture, TokenInNamespaceQueryOfV3Connect) {
    open(3);
    text("0/custom?token=abc%20d,");
    EXPECT_EQ(app.last_token, "abc d");
}

struct MalformedCase {
    const char* name;
    std::vector<std::string> texts; // sent in order after connecting "/"
    bool then_binary = false;
};

class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, ClosesOnlyThatSession) {
    FakeTransport t;
    EchoApp app;
    SocketLayer layer(t, app, 4, 5000);
    app.layer = &layer;
    SessionId id{1, 3};
    net::OpenInfo info;
    layer.on_open(id, info);
    layer.on_message(id, EioPacket{EioType::message, false, "0"});
    for (const std::string& s : GetParam().texts) layer.on_message(id, EioPacket{EioType::message, false, s});
    if (GetParam().then_binary) layer.on_message(id, EioPacket{EioType::message, true, "x"});
    EXPECT_EQ(t.closed.size(), 1u) << GetParam().name;
    EXPECT_TRUE(app.events.empty()) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Malformed,
    ::testing::Values(MalformedCase{"connect_error_from_client", {"4abc"}},
                      MalformedCase{"event_object", {"2{}"}},
                      MalformedCase{"junk_before_array", {"2abc[\"x\"]"}},
                      MalformedCase{"reserved_error", {"2[\"error\"]"}},
                      MalformedCase{"reserved_connect", {"2[\"connect\"]"}},
                      MalformedCase{"name_not_string", {"2[{\"toString\":\"foo\"}]"}},
                      MalformedCase{"empty_array", {"2[]"}},
                      MalformedCase{"too_many_attachments", {"511-[\"a\"]"}},
                      MalformedCase{"placeholder_splice", {"51-[\"a\",{\"_placeholder\":true,\"num\":\"splice\"}]"}, true},
                      MalformedCase{"placeholder_out_of_range", {"51-[\"a\",{\"_placeholder\":true,\"num\":1}]"}, true},
                      MalformedCase{"text_while_attachments_pending",
                                    {"51-[\"a\",{\"_placeholder\":true,\"num\":0}]", "2[\"b\"]"}},
                      MalformedCase{"event_for_unconnected_namespace", {"2/custom,[\"x\"]"}},
                      MalformedCase{"connect_payload_not_object", {"0/custom,[1]"}},
                      MalformedCase{"ack_not_array", {"31{}"}}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(SocketLayerBinary, BinaryFrameWithoutPendingPacketCloses) {
    FakeTransport t;
    EchoApp app;
    SocketLayer layer(t, app, 2, 5000);
    app.layer = &layer;
    net::OpenInfo info;
    layer.on_open(SessionId{0, 1}, info);
    layer.on_message(SessionId{0, 1}, EioPacket{EioType::message, true, "x"});
    EXPECT_EQ(t.closed.size(), 1u);
}

} // namespace
} // namespace outpost::sio

namespace outpost::sio {
namespace {
TEST(SocketLayerAfterError, LaterPacketsOfTheSamePayloadAreIgnored) {
    FakeTransport t;
    EchoApp app;
    SocketLayer layer(t, app, 2, 5000);
    app.layer = &layer;
    net::OpenInfo info;
    layer.on_open(SessionId{0, 1}, info);
    layer.on_message(SessionId{0, 1}, EioPacket{EioType::message, false, "0"});
    layer.on_message(SessionId{0, 1}, EioPacket{EioType::message, false, "2{}"});
    layer.on_message(SessionId{0, 1}, EioPacket{EioType::message, false, "2[\"x\"]"});
    EXPECT_TRUE(app.events.empty());
}
} // namespace
} // namespace outpost::sio
