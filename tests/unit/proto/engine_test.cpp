// engine_test.cpp - Table-driven tests of the Engine.IO v4/v3 packet and payload codecs.
#include "proto/engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace outpost::proto {
namespace {

using std::string_literals::operator""s;

// What a decoder handed to its sink, copied so it outlives the call.
struct Seen {
    EioType type;
    bool binary;
    std::string data;
    bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
    return os << "{" << int(s.type) << (s.binary ? ",bin," : ",txt,") << testing::PrintToString(s.data) << "}";
}

class Collect : public PacketSink {
public:
    std::vector<Seen> seen;
    Status stop_with = Status::ok;
    Status on_packet(const EioPacket& p) override {
        seen.push_back({p.type, p.binary, std::string(p.data)});
        return stop_with;
    }
};

Seen txt(EioType t, std::string d) { return {t, false, std::move(d)}; }
Seen bin(EioType t, std::string d) { return {t, true, std::move(d)}; }

const std::string kEmoji = "\xF0\x9F\x98\x80"; // U+1F600, two UTF-16 code units
const std::string kEAcute = "\xC3\xA9";        // U+00E9, one code unit, two bytes

// ---- Single packets -------------------------------------------------------------------

struct PacketRow {
    std::string in;
    Status status;
    EioType type;
    std::string data;
};

TEST(EnginePacket, DecodeTable) {
    const std::vector<PacketRow> rows = {
        {"0{\"sid\":\"x\"}", Status::ok, EioType::open, "{\"sid\":\"x\"}"},
        {"1", Status::ok, EioType::close, ""},
        {"2probe", Status::ok, EioType::ping, "probe"},
        {"3", Status::ok, EioType::pong, ""},
        {"4hello", Status::ok, EioType::message, "hello"},
        {"5", Status::ok, EioType::upgrade, ""},
        {"6", Status::ok, EioType::noop, ""},
        {"4" + kEmoji, Status::ok, EioType::message, kEmoji},
        {"4abc", Status::ok, EioType::message, "abc"}, // fails one level up, in Socket.IO
        {"", Status::malformed, {}, ""},
        {"7", Status::malformed, {}, ""},
        {"a", Status::malformed, {}, ""},
        {"b4AQID", Status::malformed, {}, ""}, // base64 only inside polling payloads
        {"/4", Status::malformed, {}, ""},
        {"4\xFF", Status::malformed, {}, ""},
        {"4\xC3", Status::malformed, {}, ""},         // truncated sequence
        {"4\xED\xA0\x80", Status::malformed, {}, ""}, // UTF-8 encoded surrogate
        {"4\xC0\x80", Status::malformed, {}, ""},     // overlong NUL
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(testing::PrintToString(r.in));
        auto got = decode_packet(r.in);
        ASSERT_EQ(got.status(), r.status);
        if (!got) continue;
        EXPECT_EQ(got->type, r.type);
        EXPECT_FALSE(got->binary);
        EXPECT_EQ(got->data, r.data);
    }
}

TEST(EnginePacket, V3BinaryFrameTable) {
    const std::vector<PacketRow> rows = {
        {"\x04\x01\x02"s, Status::ok, EioType::message, "\x01\x02"},
        {"\x04"s, Status::ok, EioType::message, ""},
        {"\x04\x00\xFF"s, Status::ok, EioType::message, "\x00\xFF"s},
        {"\x02"s, Status::ok, EioType::ping, ""},
        {""s, Status::malformed, {}, ""},
        {"\x07"s, Status::malformed, {}, ""},
        {"4abc"s, Status::malformed, {}, ""}, // '4' is the byte 0x34, not a type
        {"\xFF"s, Status::malformed, {}, ""},
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(testing::PrintToString(r.in));
        auto got = decode_v3_binary_frame(r.in);
        ASSERT_EQ(got.status(), r.status);
        if (!got) continue;
        EXPECT_EQ(got->type, r.type);
        EXPECT_TRUE(got->binary);
        EXPECT_EQ(got->data, r.data);
    }
}

TEST(EnginePacket, EncodeRoundTrip) {
    const std::vector<Seen> packets = {txt(EioType::open, "{\"sid\":\"a\"}"), txt(EioType::ping, "probe"),
                                       txt(EioType::message, "h" + kEAcute + kEmoji), txt(EioType::noop, "")};
    for (const auto& p : packets) {
        std::string out;
        encode_packet(out, p.type, p.data);
        auto got = decode_packet(out);
        ASSERT_TRUE(got.ok()) << out;
        EXPECT_EQ(txt(got->type, std::string(got->data)), p);
    }
    std::string out = "x";
    encode_packet(out, EioType::message, "2[\"a\"]");
    EXPECT_EQ(out, "x42[\"a\"]"); // appends
}

// ---- UTF-16 length ---------------------------------------------------------------------

TEST(EngineUtf16, LengthTable) {
    const std::vector<std::pair<std::string, int64_t>> rows = {
        {"", 0},
        {"a", 1},
        {kEAcute, 1},
        {"\xE2\x82\xAC", 1}, // euro sign, 3 bytes
        {kEmoji, 2},
        {"a" + kEmoji + "b", 4},
        {"\xF4\x8F\xBF\xBF", 2},  // U+10FFFF
        {"\xFF", -1},
        {"\x80", -1},             // stray continuation
        {"\xC3", -1},             // truncated
        {"\xC0\x80", -1},         // overlong
        {"\xE0\x80\x80", -1},     // overlong
        {"\xF0\x80\x80\x80", -1}, // overlong
        {"\xED\xA0\x80", -1},     // surrogate
        {"\xF4\x90\x80\x80", -1}, // above U+10FFFF
        {"\xF0\x9F\x98", -1},     // truncated 4-byte
        {"a\xE2\x82", -1},
    };
    for (const auto& [in, want] : rows) EXPECT_EQ(utf16_length(in), want) << testing::PrintToString(in);
}

// ---- Payloads --------------------------------------------------------------------------

struct PayloadRow {
    std::string in;
    Status status;
    std::vector<Seen> packets; // what reached the sink (also on failure: the packets before it)
};

void run_rows(const std::vector<PayloadRow>& rows, Status (*decode)(std::string_view, Collect&)) {
    for (const auto& r : rows) {
        SCOPED_TRACE(testing::PrintToString(r.in));
        Collect sink;
        EXPECT_EQ(decode(r.in, sink), r.status);
        EXPECT_EQ(sink.seen, r.packets);
    }
}

Status v4(std::string_view in, Collect& sink) {
    std::string scratch;
    return decode_payload_v4(in, sink, scratch);
}
Status v3_text(std::string_view in, Collect& sink) {
    std::string scratch;
    return decode_payload_v3_text(in, sink, scratch);
}
Status v3_binary(std::string_view in, Collect& sink) { return decode_payload_v3_binary(in, sink); }

TEST(EnginePayloadV4, DecodeTable) {
    const auto m = EioType::message;
    run_rows(
        {
            {"4hello", Status::ok, {txt(m, "hello")}},
            {"4hello\x1e" "4world", Status::ok, {txt(m, "hello"), txt(m, "world")}},
            {"bAQID", Status::ok, {bin(m, "\x01\x02\x03")}},
            {"b", Status::ok, {bin(m, "")}},
            {"4a\x1e" "bAA==\x1e" "2", Status::ok, {txt(m, "a"), bin(m, "\x00"s), txt(EioType::ping, "")}},
            {"6", Status::ok, {txt(EioType::noop, "")}},
            {"", Status::malformed, {}},
            {"\x1e", Status::malformed, {}},
            {"\x1e" "4a", Status::malformed, {}},
            {"4a\x1e", Status::malformed, {txt(m, "a")}},
            {"4a\x1e\x1e" "4b", Status::malformed, {txt(m, "a")}},
            {"7x", Status::malformed, {}},
            {"b!!!!", Status::malformed, {}},
            {"bAQI", Status::malformed, {}},  // non-canonical: unused bits set
            {"bAQ", Status::malformed, {}},   // not a multiple of 4
            {"bA===", Status::malformed, {}},
            {"b4AQID", Status::malformed, {}}, // v3 style: "4AQ" is not base64 of a whole
            {"4\xFF", Status::malformed, {}},
        },
        v4);
}

TEST(EnginePayloadV4, SinkStopsDecoding) {
    Collect sink;
    sink.stop_with = Status::full;
    std::string scratch;
    EXPECT_EQ(decode_payload_v4("4a\x1e" "4b", sink, scratch), Status::full);
    EXPECT_EQ(sink.seen.size(), 1u);
}

TEST(EnginePayloadV3Text, DecodeTable) {
    const auto m = EioType::message;
    run_rows(
        {
            {"6:4hello", Status::ok, {txt(m, "hello")}},
            {"6:4hello2:4a", Status::ok, {txt(m, "hello"), txt(m, "a")}},
            {"1:2", Status::ok, {txt(EioType::ping, "")}},
            {"2:4" + kEAcute, Status::ok, {txt(m, kEAcute)}},  // é is one UTF-16 unit
            {"3:4" + kEmoji, Status::ok, {txt(m, kEmoji)}},    // emoji is two units
            {"4:4" + kEmoji, Status::malformed, {}},           // 4 units would run past the end
            {"2:4" + kEmoji, Status::malformed, {}},           // splits the surrogate pair
            {"3:4" + kEAcute, Status::malformed, {}},          // 3 units would run past the end
            {"5:4" + kEAcute + "a", Status::malformed, {}},
            {"6:b4AQID", Status::ok, {bin(m, "\x01\x02\x03")}},
            {"2:b4", Status::ok, {bin(m, "")}},
            {"6:b2AQID1:6", Status::ok, {bin(EioType::ping, "\x01\x02\x03"), txt(EioType::noop, "")}},
            {"0:", Status::ok, {}},
            {"0:1:6", Status::ok, {txt(EioType::noop, "")}},
            {"", Status::malformed, {}},
            {":4", Status::malformed, {}},
            {"x:4", Status::malformed, {}},
            {"-1:4", Status::malformed, {}},
            {"+2:4a", Status::malformed, {}},
            {"2 :4a", Status::malformed, {}},
            {"5:4hi", Status::malformed, {}},
            {"2:4a5", Status::malformed, {txt(m, "a")}},
            {"6:4hello3", Status::malformed, {txt(m, "hello")}},
            {"2", Status::malformed, {}},
            {"12345678901:4", Status::malformed, {}},           // 11 length digits
            {"9999999999:4abc", Status::malformed, {}},         // 10 digits, runs past the end
            {"2:7x", Status::malformed, {}},
            {"1:b", Status::malformed, {}},
            {"3:bxA", Status::malformed, {}},
            {"5:b4AQ", Status::malformed, {}},
            {"6:b4AQI!", Status::malformed, {}},
            {"2:4\xFF", Status::malformed, {}},
            {"2:4\xC3", Status::malformed, {}},
        },
        v3_text);
}

TEST(EnginePayloadV3Binary, DecodeTable) {
    const auto m = EioType::message;
    run_rows(
        {
            {"\x00\x06\xFF" "4hello"s, Status::ok, {txt(m, "hello")}},
            {"\x00\x03\xFF" "4"s + kEAcute, Status::ok, {txt(m, kEAcute)}}, // bytes, not characters
            {"\x00\x05\xFF" "4"s + kEmoji, Status::ok, {txt(m, kEmoji)}},
            {"\x01\x04\xFF\x04\x01\x02\x03"s, Status::ok, {bin(m, "\x01\x02\x03")}},
            {"\x01\x01\xFF\x04"s, Status::ok, {bin(m, "")}},
            {"\x00\x01\xFF" "2" "\x01\x03\xFF\x04\x00\xFF"s, Status::ok,
             {txt(EioType::ping, ""), bin(m, "\x00\xFF"s)}},
            {"\x00\x01\x01\xFF" "4abcdefghij"s, Status::ok, {txt(m, "abcdefghij")}},
            {""s, Status::malformed, {}},
            {"\x02\x01\xFF" "4"s, Status::malformed, {}},      // marker
            {"\x00\xFF" "4"s, Status::malformed, {}},          // no length digits
            {"\x00\x01"s, Status::malformed, {}},              // no 0xFF
            {"\x00"s, Status::malformed, {}},
            {"\x00\x0A\xFF" "4"s, Status::malformed, {}},      // digit byte 10
            {"\x00\x31\xFF" "4"s, Status::malformed, {}},      // ASCII '1' is not a digit byte
            {"\x00\x05\xFF" "4hi"s, Status::malformed, {}},    // runs past the end
            {"\x00\x00\xFF"s, Status::malformed, {}},          // zero length
            {"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xFF" "4"s, Status::malformed, {}},
            {"\x00\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\xFF" "4"s, Status::malformed, {}},
            {"\x01\x01\xFF\x07"s, Status::malformed, {}},      // bad binary type
            {"\x00\x01\xFF" "7"s, Status::malformed, {}},      // bad text type
            {"\x00\x02\xFF" "4\xFF"s, Status::malformed, {}},  // text is not UTF-8
            {"\x00\x01\xFF" "2\x00"s, Status::malformed, {txt(EioType::ping, "")}}, // trailing marker
        },
        v3_binary);
}

// ---- Encoders: exact bytes, then round trips -------------------------------------------

TEST(EnginePayloadEncode, ExactBytes) {
    const auto m = EioType::message;
    struct Row {
        void (*append)(std::string&, const EioPacket&);
        std::vector<EioPacket> in;
        std::string want;
    };
    const std::string bytes = "\x01\x02\x03";
    const std::string eleven(11, 'x');
    const std::vector<Row> rows = {
        {append_payload_v4, {{m, false, "a"}, {m, true, bytes}}, "4a\x1e" "bAQID"},
        {append_payload_v4, {{EioType::pong, false, "probe"}}, "3probe"},
        {append_payload_v3_text, {{m, false, kEAcute}}, "2:4" + kEAcute},
        {append_payload_v3_text, {{m, false, kEmoji}}, "3:4" + kEmoji},
        {append_payload_v3_text, {{m, true, bytes}, {EioType::noop, false, ""}}, "6:b4AQID1:6"},
        {append_payload_v3_text, {{m, true, ""}}, "2:b4"},
        {append_payload_v3_binary, {{m, false, kEAcute}}, "\x00\x03\xFF" "4"s + kEAcute},
        {append_payload_v3_binary, {{m, true, bytes}}, "\x01\x04\xFF\x04\x01\x02\x03"s},
        {append_payload_v3_binary, {{m, false, eleven}}, "\x00\x01\x02\xFF" "4"s + eleven},
    };
    for (const auto& r : rows) {
        std::string out;
        for (const auto& p : r.in) r.append(out, p);
        EXPECT_EQ(out, r.want);
    }
}

std::vector<Seen> round_trip_packets(const std::string& big, bool binary_types) {
    return {
        txt(EioType::open, "{\"sid\":\"abc\",\"pingInterval\":25000}"),
        txt(EioType::message, "2[\"h" + kEAcute + kEmoji + "\"]"),
        bin(EioType::message, "\x00\x01\xFF\xFE\x1e:b4"s),
        bin(EioType::message, ""),
        txt(EioType::ping, "probe"),
        txt(EioType::noop, ""),
        txt(EioType::message, big),
        bin(binary_types ? EioType::ping : EioType::message, big),
    };
}

TEST(EnginePayloadEncode, RoundTrips) {
    std::string big;
    for (int i = 0; i < 3000; ++i) big += static_cast<char>('a' + i % 26);
    big += kEmoji;
    struct Codec {
        const char* name;
        void (*append)(std::string&, const EioPacket&);
        Status (*decode)(std::string_view, Collect&);
        bool binary_types; // can carry binary packets of types other than message
    };
    const std::vector<Codec> codecs = {
        {"v4", append_payload_v4, v4, false},
        {"v3 text", append_payload_v3_text, v3_text, true},
        {"v3 binary", append_payload_v3_binary, v3_binary, true},
    };
    for (const auto& c : codecs) {
        SCOPED_TRACE(c.name);
        const auto packets = round_trip_packets(big, c.binary_types);
        std::string body;
        std::vector<Seen> want;
        for (const auto& p : packets) {
            const EioPacket packet{p.type, p.binary, p.data};
            c.append(body, packet);
            want.push_back(p);
            Collect one; // each packet alone
            std::string single;
            c.append(single, packet);
            ASSERT_EQ(c.decode(single, one), Status::ok);
            EXPECT_EQ(one.seen, std::vector<Seen>{want.back()});
        }
        Collect all;
        ASSERT_EQ(c.decode(body, all), Status::ok);
        EXPECT_EQ(all.seen, want);
    }
}

} // namespace
} // namespace outpost::proto
