// adapter_wire_test.cpp - cluster/adapter_wire against what @socket.io/redis-adapter 8.3.0 itself
// published (fixtures/adapter_*.hex, captured from a real socket.io 4.8 Server and RedisAdapter).
#include "cluster/adapter_wire.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fixtures.h"

namespace outpost::cluster::wire {
namespace {

using testing::fixture;
using testing::fixtures;

Value s(const char* v) { return Value::of_str(v); }

TEST(AdapterWire, Channels) {
    const auto c = channels("socket.io", "/");
    EXPECT_EQ(c.broadcast, "socket.io#/#");
    EXPECT_EQ(c.request, "socket.io-request#/#");
    EXPECT_EQ(c.response, "socket.io-response#/#");
    EXPECT_EQ(room_channel("socket.io", "/", "room1"), "socket.io#/#room1#");
    std::string room;
    EXPECT_TRUE(room_of_channel(c.broadcast, "socket.io#/#", room));
    EXPECT_EQ(room, "");
    EXPECT_TRUE(room_of_channel(c.broadcast, "socket.io#/#a#b#", room));
    EXPECT_EQ(room, "a#b"); // rooms may hold '#': the adapter cuts only the last byte
    EXPECT_FALSE(room_of_channel(c.broadcast, "socket.io#/x#", room));
    EXPECT_FALSE(room_of_channel(c.broadcast, "socket.io#/#room", room));
}

TEST(AdapterWire, EveryCapturedBroadcastDecodesReencodesAndNamesItsChannel) {
    const auto all = fixtures("adapter_broadcast_");
    ASSERT_EQ(all.size(), 5u);
    for (const auto& f : all) {
        SCOPED_TRACE(f.name);
        Broadcast b;
        std::string error;
        ASSERT_TRUE(decode_broadcast(f.bytes, {}, b, error)) << error;
        EXPECT_EQ(b.uid, "000000");
        EXPECT_EQ(encode_broadcast(b), f.bytes);
        EXPECT_EQ(broadcast_channel("socket.io", b), f.channel);
    }
}

TEST(AdapterWire, BroadcastBuiltFromScratchIsTheAdaptersBytes) {
    Broadcast b;
    b.uid = "000000";
    b.packet.data = Value::array({s("message:new"), Value::map({s("seq"), Value::of_int(7), s("text"), s("hi"), s("at"),
                                                               Value::of_double(1.5)})});
    b.opts.rooms = {"room1"};
    b.opts.flags = Flags{};
    const auto f = fixture("adapter_broadcast_room");
    EXPECT_EQ(encode_broadcast(b), f.bytes);
    EXPECT_EQ(broadcast_channel("socket.io", b), "socket.io#/#room1#");

    Broadcast two;
    two.uid = "000000";
    two.packet.data = Value::array({s("x")});
    two.opts.rooms = {"a", "b"};
    two.opts.except = {"c"};
    two.opts.flags = Flags{};
    EXPECT_EQ(encode_broadcast(two), fixture("adapter_broadcast_two_rooms").bytes);
    EXPECT_EQ(broadcast_channel("socket.io", two), "socket.io#/#");

    Broadcast fl;
    fl.uid = "000000";
    fl.packet.data = Value::array({s("bin"), Value::of_bin("\xde\xad")});
    fl.opts.rooms = {"room1"};
    Flags vc;
    vc.is_volatile = true;
    vc.compress = false;
    fl.opts.flags = vc;
    EXPECT_EQ(encode_broadcast(fl), fixture("adapter_broadcast_flags_bin").bytes);
}

TEST(AdapterWire, BroadcastFieldsAreRead) {
    Broadcast b;
    std::string error;
    ASSERT_TRUE(decode_broadcast(fixture("adapter_broadcast_flags_bin").bytes, {}, b, error)) << error;
    EXPECT_EQ(b.packet.type, 2);
    EXPECT_EQ(b.packet.nsp, "/");
    EXPECT_FALSE(b.packet.id);
    ASSERT_EQ(b.packet.data.items.size(), 2u);
    EXPECT_EQ(b.packet.data.items[1], Value::of_bin("\xde\xad"));
    ASSERT_TRUE(b.opts.flags);
    EXPECT_EQ(b.opts.flags->is_volatile, true);
    EXPECT_EQ(b.opts.flags->compress, false);
    EXPECT_FALSE(b.opts.flags->local);

    ASSERT_TRUE(decode_broadcast(fixture("adapter_broadcast_numeric_room").bytes, {}, b, error)) << error;
    EXPECT_EQ(b.opts.rooms, std::vector<std::string>{"42"});
    int64_t n = 0;
    ASSERT_TRUE(b.packet.data.items[2].as_int64(n));
    EXPECT_EQ(n, int64_t{1} << 40);

    // A packet without nsp reads as "/" (the adapter does the same); a numeric room as decimal.
    std::string bytes;
    msgpack::Writer w(bytes);
    w.array_header(3).str("peer01").map_header(2).str("type").integer(2).str("data").array_header(1).str("e");
    w.map_header(2).str("rooms").array_header(1).integer(42).str("except").array_header(0);
    ASSERT_TRUE(decode_broadcast(bytes, {}, b, error)) << error;
    EXPECT_EQ(b.packet.nsp, "/");
    EXPECT_EQ(b.opts.rooms, std::vector<std::string>{"42"});
    EXPECT_FALSE(b.opts.flags);
}

TEST(AdapterWire, MalformedBroadcastsGetAClearError) {
    Broadcast b;
    std::string error;
    EXPECT_FALSE(decode_broadcast("\x92\xa1u\xc0", {}, b, error));
    EXPECT_EQ(error, "a broadcast is not [uid, packet, opts]");
    EXPECT_FALSE(decode_broadcast(std::string("\x93\xa1u\x81\xa4type\x07\x80", 11), {}, b, error));
    EXPECT_EQ(error, "the packet's \"type\" is not 0-6");
    const auto f = fixture("adapter_broadcast_room");
    EXPECT_FALSE(decode_broadcast(std::string_view(f.bytes).substr(0, f.bytes.size() - 1), {}, b, error));
    EXPECT_EQ(error.rfind("msgpack: truncated", 0), 0u) << error;
}

struct RequestCase {
    const char* name;
    RequestType type;
};

TEST(AdapterWire, EveryCapturedRequestDecodesAndReencodesToTheSameBytes) {
    const RequestCase cases[] = {
        {"adapter_request_all_rooms", RequestType::all_rooms},
        {"adapter_request_remote_join", RequestType::remote_join},
        {"adapter_request_remote_leave", RequestType::remote_leave},
        {"adapter_request_remote_disconnect", RequestType::remote_disconnect},
        {"adapter_request_fetch_sockets", RequestType::remote_fetch},
        {"adapter_request_server_side_emit", RequestType::server_side_emit},
        {"adapter_request_server_side_emit_ack", RequestType::server_side_emit},
        {"adapter_request_broadcast_ack", RequestType::broadcast},
    };
    EXPECT_EQ(fixtures("adapter_request_").size(), std::size(cases));
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto f = fixture(c.name);
        EXPECT_EQ(f.channel, "socket.io-request#/#");
        Request r;
        std::string error, out;
        ASSERT_TRUE(decode_request(f.bytes, {}, r, error)) << error;
        EXPECT_EQ(r.type, c.type);
        EXPECT_EQ(r.uid, "000000");
        ASSERT_TRUE(encode_request(r, out, error)) << error;
        EXPECT_EQ(out, f.bytes);
    }
}

TEST(AdapterWire, RequestsBuiltFromScratchAreTheAdaptersBytes) {
    std::string out, error;
    Request join;
    join.type = RequestType::remote_join;
    join.uid = "000000";
    join.opts.rooms = {"room1"};
    join.rooms = {"r2", "r3"};
    ASSERT_TRUE(encode_request(join, out, error));
    EXPECT_EQ(out, fixture("adapter_request_remote_join").bytes);

    Request dc;
    dc.type = RequestType::remote_disconnect;
    dc.uid = "000000";
    dc.opts.rooms = {"room1"};
    dc.close = true;
    ASSERT_TRUE(encode_request(dc, out, error));
    EXPECT_EQ(out, fixture("adapter_request_remote_disconnect").bytes);

    Request b;
    b.type = RequestType::broadcast;
    b.uid = "000000";
    b.request_id = "000001";
    b.packet.data = Value::array({s("ask"), s("q")});
    b.opts.rooms = {"room1"};
    Flags timeout;
    timeout.timeout = 1000;
    b.flags = timeout;
    ASSERT_TRUE(encode_request(b, out, error));
    const auto f = fixture("adapter_request_broadcast_ack");
    Request captured;
    ASSERT_TRUE(decode_request(f.bytes, {}, captured, error)) << error;
    b.request_id = captured.request_id; // the adapter's own id for it
    ASSERT_TRUE(encode_request(b, out, error));
    EXPECT_EQ(out, f.bytes);
    EXPECT_FALSE(captured.packet.id); // encoded before the local adapter numbers it
    ASSERT_TRUE(captured.flags && captured.flags->timeout);
    EXPECT_EQ(*captured.flags->timeout, 1000);

    Request sse;
    ASSERT_TRUE(decode_request(fixture("adapter_request_server_side_emit").bytes, {}, sse, error));
    EXPECT_FALSE(sse.request_id); // no ack expected: no requestId key
    EXPECT_EQ(sse.data, Value::array({s("ping"), Value::of_int(1), Value::map({s("a"), s("b")})}));
}

struct ResponseCase {
    const char* name;
    RequestType pending;
    RequestType answers;
};

TEST(AdapterWire, EveryCapturedAnswerDecodesAndReencodesToTheSameBytes) {
    const ResponseCase cases[] = {
        {"adapter_response_all_rooms", RequestType::all_rooms, RequestType::all_rooms},
        {"adapter_response_fetch_sockets", RequestType::remote_fetch, RequestType::remote_fetch},
        {"adapter_response_sockets", RequestType::sockets, RequestType::sockets},
        {"adapter_response_server_side_emit", RequestType::server_side_emit, RequestType::server_side_emit},
        {"adapter_response_broadcast_client_count", RequestType::broadcast, RequestType::broadcast_client_count},
        {"response_broadcast_ack", RequestType::broadcast, RequestType::broadcast_ack},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto f = fixture(c.name);
        EXPECT_EQ(f.channel, "socket.io-response#/#");
        std::string id, error, out;
        ASSERT_TRUE(response_request_id(f.bytes, {}, id, error)) << error;
        Response r;
        ASSERT_TRUE(decode_response(f.bytes, {}, c.pending, r, error)) << error;
        EXPECT_EQ(r.answers, c.answers);
        EXPECT_EQ(r.request_id, id);
        ASSERT_TRUE(encode_response(r, out, error)) << error;
        EXPECT_EQ(out, f.bytes);
    }
    Response ack;
    std::string error;
    ASSERT_TRUE(decode_response(fixture("adapter_response_server_side_emit").bytes, {}, RequestType::server_side_emit,
                                ack, error));
    EXPECT_EQ(ack.data, Value::map({s("ok"), Value::of_int(3)})); // only the first argument crosses
    Response count;
    ASSERT_TRUE(decode_response(fixture("adapter_response_broadcast_client_count").bytes, {}, RequestType::all_rooms,
                                count, error));
    EXPECT_EQ(count.answers, RequestType::broadcast_client_count); // routed by its own type
    EXPECT_EQ(count.client_count, 0u);
}

TEST(AdapterWire, FetchSocketsAnswerOfAnOutpostSocket) {
    Response r;
    r.answers = RequestType::remote_fetch;
    r.request_id = "rq0002";
    RemoteSocket so;
    so.id = "sid1";
    so.handshake = Value::map({s("address"), s("127.0.0.1"), s("time"), s("Thu Dec 03 2026")});
    so.rooms = {"sid1", "general"};
    so.data = Value::map({s("userId"), s("u1"), s("deviceId"), s("d1")});
    r.sockets.push_back(so);
    std::string out, error;
    ASSERT_TRUE(encode_response(r, out, error)) << error;
    EXPECT_EQ(out, "{\"requestId\":\"rq0002\",\"sockets\":[{\"id\":\"sid1\",\"handshake\":{\"address\":\"127.0.0.1\","
                   "\"time\":\"Thu Dec 03 2026\"},\"rooms\":[\"sid1\",\"general\"],\"data\":{\"userId\":\"u1\","
                   "\"deviceId\":\"d1\"}}]}");
    Response back;
    ASSERT_TRUE(decode_response(out, {}, RequestType::remote_fetch, back, error)) << error;
    ASSERT_EQ(back.sockets.size(), 1u);
    EXPECT_EQ(back.sockets[0].rooms, so.rooms);
    EXPECT_EQ(back.sockets[0].data, so.data);
}

TEST(AdapterWire, MalformedRequestsGetAClearError) {
    Request r;
    std::string error;
    EXPECT_FALSE(decode_request("{\"uid\":\"x\",\"type\":12}", {}, r, error));
    EXPECT_EQ(error, "the request's \"type\" is not 0-7");
    EXPECT_FALSE(decode_request("{\"type\":1}", {}, r, error));
    EXPECT_EQ(error, "missing \"uid\"");
    EXPECT_FALSE(decode_request("{\"uid\":\"x\",\"type\":5}", {}, r, error));
    EXPECT_EQ(error, "missing \"requestId\"");
    EXPECT_FALSE(decode_request("{\"uid\":", {}, r, error));
    EXPECT_EQ(error, "malformed JSON");
    EXPECT_FALSE(decode_request("{\"uid\":\"x\",\"type\":2}", {}, r, error));
    EXPECT_EQ(error, "a request of type 2-4 has neither \"opts\" nor \"sid\"");
    msgpack::Limits l;
    l.max_depth = 3;
    EXPECT_FALSE(decode_request("{\"uid\":\"x\",\"type\":6,\"data\":[[[[1]]]]}", l, r, error));
    EXPECT_EQ(error, "JSON nesting deeper than 3");
    l = {};
    l.max_bytes = 10;
    EXPECT_FALSE(decode_request("{\"uid\":\"x\",\"type\":1}", l, r, error));
    EXPECT_NE(error.find("over the limit of 10"), std::string::npos);
    // The older single-socket form of 2/3/4 is still read.
    ASSERT_TRUE(decode_request("{\"uid\":\"x\",\"requestId\":\"r\",\"type\":3,\"sid\":\"s1\",\"room\":\"a\"}", {}, r, error))
        << error;
    EXPECT_EQ(r.sid, "s1");
    EXPECT_EQ(r.room, "a");
}

TEST(AdapterWire, JsonOfValuesIsWhatJsonStringifyPrints) {
    auto json = [](const Value& v) {
        std::string out, error;
        EXPECT_TRUE(value_to_json(v, out, error)) << error;
        return out;
    };
    EXPECT_EQ(json(Value::of_double(1.5)), "1.5");
    EXPECT_EQ(json(Value::of_double(0.1)), "0.1");
    EXPECT_EQ(json(Value::of_double(1e21)), "1e+21");
    EXPECT_EQ(json(Value::of_double(1e20)), "100000000000000000000");
    EXPECT_EQ(json(Value::of_double(1.5e-7)), "1.5e-7");
    EXPECT_EQ(json(Value::of_double(0.000001)), "0.000001");
    EXPECT_EQ(json(Value::of_double(-123.456)), "-123.456");
    EXPECT_EQ(json(Value::of_double(NAN)), "null");
    EXPECT_EQ(json(Value::of_bin("\x01\xff")), "{\"type\":\"Buffer\",\"data\":[1,255]}");
    auto date = [&](const char* fixture_name) {
        auto r = msgpack::decode(fixture(fixture_name).bytes);
        EXPECT_TRUE(r.ok);
        return json(r.value);
    };
    EXPECT_EQ(date("value_date_ts32"), "\"2023-11-14T22:13:20.000Z\"");
    EXPECT_EQ(date("value_date_ts64"), "\"2023-11-14T22:13:20.123Z\"");
    EXPECT_EQ(date("value_date_ts96"), "\"1969-12-31T23:59:59.000Z\"");
    std::string far;
    msgpack::Writer(far).timestamp_ms(8640000000000001LL); // past a JS Date's range
    EXPECT_EQ(json(msgpack::decode(far).value), "null");
    Value ext;
    ext.type = msgpack::Type::ext;
    ext.ext_type = 5;
    ext.bytes = "x";
    std::string out, error;
    EXPECT_FALSE(value_to_json(ext, out, error));
    EXPECT_EQ(error, "msgpack extension type 5 has no JSON form");
}

} // namespace
} // namespace outpost::cluster::wire
