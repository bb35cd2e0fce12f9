// sio_test.cpp - Table-driven tests of the Socket.IO packet codec, query helpers and placeholders.
#include "proto/sio.h"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "proto/engine.h"

namespace outpost::proto {
namespace {

struct JsonDeleter {
    void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

// ---- decode_packet ---------------------------------------------------------------------

struct SioRow {
    SioRow(std::string in_, Status status_, SioType type_ = SioType::event, std::string nsp_ = "/",
           int64_t id_ = -1, uint32_t attachments_ = 0, std::string data_ = "")
        : in(std::move(in_)), status(status_), type(type_), nsp(std::move(nsp_)), id(id_),
          attachments(attachments_), data(std::move(data_)) {}
    std::string in;
    Status status;
    SioType type;
    std::string nsp;
    int64_t id;
    uint32_t attachments;
    std::string data;
};

const std::string kPh0 = "{\"_placeholder\":true,\"num\":0}";
const std::string kPh1 = "{\"_placeholder\":true,\"num\":1}";

std::vector<SioRow> decode_rows() {
    using S = SioType;
    const Status ok = Status::ok, bad = Status::malformed, big = Status::too_large;
    return {
        {"0", ok, S::connect},
        {"0{\"token\":\"x\"}", ok, S::connect, "/", -1, 0, "{\"token\":\"x\"}"},
        {"0/custom,", ok, S::connect, "/custom"},
        {"0/custom", ok, S::connect, "/custom"},
        {"0/admin?token=abc,", ok, S::connect, "/admin?token=abc"},
        {"0/admin?token=abc,{\"a\":1}", ok, S::connect, "/admin?token=abc", -1, 0, "{\"a\":1}"},
        {"1", ok, S::disconnect},
        {"1/custom,", ok, S::disconnect, "/custom"},
        {"2[\"hello\",1]", ok, S::event, "/", -1, 0, "[\"hello\",1]"},
        {"2/custom,[\"x\"]", ok, S::event, "/custom", -1, 0, "[\"x\"]"},
        {"212[\"ack me\"]", ok, S::event, "/", 12, 0, "[\"ack me\"]"},
        {"20[\"a\"]", ok, S::event, "/", 0, 0, "[\"a\"]"},
        {"2/custom,7[\"a\"]", ok, S::event, "/custom", 7, 0, "[\"a\"]"},
        {"3/custom,12[1,\"2\"]", ok, S::ack, "/custom", 12, 0, "[1,\"2\"]"},
        {"31[]", ok, S::ack, "/", 1, 0, "[]"},
        {"4{\"message\":\"x\"}", ok, S::connect_error, "/", -1, 0, "{\"message\":\"x\"}"},
        {"4\"Invalid namespace\"", ok, S::connect_error, "/", -1, 0, "\"Invalid namespace\""},
        {"52-[\"m\"," + kPh0 + "," + kPh1 + "]", ok, S::binary_event, "/", -1, 2, "[\"m\"," + kPh0 + "," + kPh1 + "]"},
        {"51-/custom,[\"m\"," + kPh0 + "]", ok, S::binary_event, "/custom", -1, 1, "[\"m\"," + kPh0 + "]"},
        {"510-[\"m\"]", ok, S::binary_event, "/", -1, 10, "[\"m\"]"},
        {"62-789[" + kPh0 + "," + kPh1 + "]", ok, S::binary_ack, "/", 789, 2, "[" + kPh0 + "," + kPh1 + "]"},
        {"61-/custom,5[" + kPh0 + "]", ok, S::binary_ack, "/custom", 5, 1, "[" + kPh0 + "]"},
        {"2", ok, S::event},
        {"2{}", ok, S::event, "/", -1, 0, "{}"},     // lexically fine; the router wants an array
        {"2/a[\"x\"]", ok, S::event, "/a[\"x\"]"},   // no comma: the namespace swallows the rest
        {"29007199254740991[]", ok, S::event, "/", 9007199254740991, 0, "[]"},
        {"", bad},
        {"7", bad},
        {"a", bad},
        {"-", bad},
        {" 2[\"x\"]", bad},
        {"5[\"x\"]", bad},                    // binary without count
        {"51[\"x\"]", bad},                   // count without '-'
        {"5-[\"x\"]", bad},
        {"50-[\"x\"]", bad},                  // zero attachments
        {"511-[\"x\"]", big},                 // more than kMaxAttachments
        {"599999999999-[\"x\"]", big},        // a count too long to parse
        {"6[\"x\"]", bad},
        {"61-[\"x\"]", bad},                  // binary ack without id
        {"21-[\"x\"]", bad},                  // count on a non-binary type
        {"01-", bad},
        {"31-1[\"x\"]", bad},
        {"2abc[\"x\"]", bad},
        {"2 [\"x\"]", bad},
        {"3[\"x\"]", bad},                    // ack without id
        {"3/custom,[\"x\"]", bad},
        {"212345678901234567[\"x\"]", bad},   // 17-digit id
        {"29007199254740992[]", bad},         // above 2^53-1
        {"29999999999999999[]", bad},         // 16 digits but too big
        {"2,[\"x\"]", bad},                   // comma without namespace
        {"2/custom,,[\"x\"]", bad},
        {"21.5[\"x\"]", bad},
        {"21x", bad},
        {"2-1[\"x\"]", bad},
        {"2null", bad},
        {"21 ", bad},
    };
}

TEST(SioDecode, Table) {
    for (const auto& r : decode_rows()) {
        SCOPED_TRACE(r.in);
        auto got = socket_io::decode_packet(std::string_view(r.in));
        ASSERT_EQ(got.status(), r.status);
        if (!got) continue;
        EXPECT_EQ(got->type, r.type);
        EXPECT_EQ(got->nsp, r.nsp);
        EXPECT_EQ(got->id, r.id);
        EXPECT_EQ(got->attachments, r.attachments);
        EXPECT_EQ(got->data, r.data);
    }
}

// Every packet that decodes re-encodes to something that decodes to the same fields.
TEST(SioEncode, RoundTripOfEveryValidRow) {
    for (const auto& r : decode_rows()) {
        if (r.status != Status::ok) continue;
        SCOPED_TRACE(r.in);
        auto first = socket_io::decode_packet(std::string_view(r.in));
        ASSERT_TRUE(first.ok());
        std::string out;
        encode_packet(out, *first);
        auto second = socket_io::decode_packet(std::string_view(out));
        ASSERT_TRUE(second.ok()) << out;
        EXPECT_EQ(second->type, first->type);
        EXPECT_EQ(second->nsp, first->nsp);
        EXPECT_EQ(second->id, first->id);
        EXPECT_EQ(second->attachments, first->attachments);
        EXPECT_EQ(second->data, first->data);
    }
}

TEST(SioEncode, ExactText) {
    struct Row {
        SioPacket p;
        std::string want;
    };
    const std::vector<Row> rows = {
        {{SioType::connect, "/", -1, 0, "{\"sid\":\"s\"}"}, "0{\"sid\":\"s\"}"},
        {{SioType::connect, "/custom", -1, 0, ""}, "0/custom,"},
        {{SioType::disconnect, "/", -1, 0, ""}, "1"},
        {{SioType::event, "/", -1, 0, "[\"a\"]"}, "2[\"a\"]"},
        {{SioType::event, "", -1, 0, "[\"a\"]"}, "2[\"a\"]"},
        {{SioType::event, "/", 0, 0, "[\"a\"]"}, "20[\"a\"]"},
        {{SioType::ack, "/custom", 12, 0, "[1]"}, "3/custom,12[1]"},
        {{SioType::connect_error, "/", -1, 0, "{\"message\":\"m\"}"}, "4{\"message\":\"m\"}"},
        {{SioType::binary_event, "/custom", 7, 2, "[]"}, "52-/custom,7[]"},
        {{SioType::binary_ack, "/", 9007199254740991, 10, "[]"}, "610-9007199254740991[]"},
        {{SioType::event, "/", -1, 3, "[]"}, "2[]"}, // attachments only on binary types
    };
    for (const auto& r : rows) {
        std::string out = ">";
        encode_packet(out, r.p);
        EXPECT_EQ(out, ">" + r.want);
    }
}

// ---- Namespaces and query strings ------------------------------------------------------

TEST(SioNsp, SplitTable) {
    const std::vector<std::array<std::string, 3>> rows = {
        {"/", "/", ""},
        {"/admin?token=abc", "/admin", "token=abc"},
        {"/a?", "/a", ""},
        {"/a?b?c", "/a", "b?c"},
        {"", "", ""},
    };
    for (const auto& r : rows) {
        std::string_view path, query;
        split_nsp(r[0], path, query);
        EXPECT_EQ(path, r[1]) << r[0];
        EXPECT_EQ(query, r[2]) << r[0];
    }
}

TEST(SioQuery, ParamTable) {
    struct Row {
        std::string query, key;
        bool found;
        std::string value;
    };
    const std::vector<Row> rows = {
        {"token=abc", "token", true, "abc"},
        {"a=1&token=abc&b=2", "token", true, "abc"},
        {"token=a%20b+c", "token", true, "a b c"},
        {"token=%2B%2b%41", "token", true, "++A"},
        {"token=", "token", true, ""},
        {"token", "token", true, ""},
        {"token=x&token=y", "token", true, "x"},
        {"tok%65n=v", "token", true, "v"},
        {"token=a=b", "token", true, "a=b"},
        {"&&token=z&", "token", true, "z"},
        {"tokens=x", "token", false, ""},
        {"xtoken=x", "token", false, ""},
        {"a=1", "token", false, ""},
        {"", "token", false, ""},
        {"token=%zz", "token", false, ""},
        {"token=%4", "token", false, ""},
        {"token=%", "token", false, ""},
        {"token=abc%", "token", false, ""},
        {"%zz=1&token=ok", "token", true, "ok"},
    };
    for (const auto& r : rows) {
        std::string out;
        EXPECT_EQ(query_param(r.query, r.key, out), r.found) << r.query;
        if (r.found) {
            EXPECT_EQ(out, r.value) << r.query;
        }
    }
}

// ---- Placeholders ----------------------------------------------------------------------

struct PlaceholderRow {
    std::string json;
    uint32_t attachments;
    Status status;
};

std::string nested(int depth, const std::string& inner) {
    return std::string(static_cast<size_t>(depth), '[') + inner + std::string(static_cast<size_t>(depth), ']');
}

TEST(SioPlaceholders, Table) {
    const Status ok = Status::ok, bad = Status::malformed;
    const std::vector<PlaceholderRow> rows = {
        {"[\"m\"," + kPh0 + "]", 1, ok},
        {"[\"m\"," + kPh1 + "," + kPh0 + "]", 2, ok},
        {"[\"m\",{\"num\":0,\"_placeholder\":true}]", 1, ok},
        {"[\"m\",{\"a\":[{\"b\":" + kPh0 + "}]}]", 1, ok},
        {"{\"x\":" + kPh0 + "}", 1, ok},
        {"[\"m\"]", 0, ok},
        {"[\"m\",{\"num\":0}]", 0, ok},
        {"[\"m\",{\"_placeholder\":true,\"num\":0.0}]", 1, ok},
        {"[\"m\",{\"_placeholder\":true,\"num\":1e0}]", 2, bad},       // count mismatch (one of two)
        {"[\"m\"]", 1, bad},                                             // fewer placeholders
        {"[\"m\"," + kPh0 + "]", 0, bad},                                // more placeholders
        {"[\"m\"," + kPh0 + "," + kPh0 + "]", 2, bad},                   // the same one twice
        {"[\"m\"," + kPh1 + "]", 1, bad},                                // num out of range
        {"[\"m\",{\"_placeholder\":true,\"num\":-1}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"num\":1.5}]", 2, bad},
        {"[\"m\",{\"_placeholder\":true,\"num\":\"0\"}]", 1, bad},
        {"[\"a\",{\"_placeholder\":true,\"num\":\"splice\"}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"num\":null}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"num\":1e300}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true}]", 1, bad},
        {"[\"m\",{\"_placeholder\":false,\"num\":0}]", 1, bad},
        {"[\"m\",{\"_placeholder\":1,\"num\":0}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"num\":0,\"x\":1}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"_placeholder\":true}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"num\":0,\"num\":0}]", 1, bad},
        {"[\"m\",{\"_placeholder\":true,\"Num\":0}]", 1, bad},
        {"[\"m\",{\"_placeholder\":{\"_placeholder\":true,\"num\":0},\"num\":0}]", 1, bad},
        {nested(64, "1"), 0, ok},
        {nested(63, kPh0), 1, ok},
        {nested(64, kPh0), 1, bad}, // the placeholder object is the 65th level
        {nested(65, "1"), 0, bad},
        {nested(500, "1"), 0, bad},
        {"[\"m\"]", 11, Status::too_large},
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(r.json.substr(0, 120));
        Json root(cJSON_Parse(r.json.c_str()));
        ASSERT_NE(root, nullptr);
        EXPECT_EQ(check_placeholders(root.get(), r.attachments), r.status);
    }
    EXPECT_EQ(check_placeholders(nullptr, 0), Status::malformed);
}

// ---- Inputs from the issue tracker, checked at the layer that must refuse them ---------

enum class Layer { none, engine, socketio, json, placeholders };

// Engine.IO text packet -> Socket.IO packet -> JSON -> placeholders; returns where it failed.
std::pair<Layer, Status> decode_layers(std::string_view eio_text) {
    auto eio = engine_io::decode_packet(eio_text);
    if (!eio) return {Layer::engine, eio.status()};
    if (eio->type != EioType::message) return {Layer::none, Status::ok}; // not Socket.IO traffic
    auto sio = socket_io::decode_packet(eio->data);
    if (!sio) return {Layer::socketio, sio.status()};
    if (sio->data.empty()) return {Layer::none, Status::ok};
    Json root(cJSON_ParseWithLength(sio->data.data(), sio->data.size()));
    if (!root) return {Layer::json, Status::malformed};
    const Status s = check_placeholders(root.get(), sio->attachments);
    return {s == Status::ok ? Layer::none : Layer::placeholders, s};
}

TEST(SioIssues, MalformedInputsFailAtTheirLayer) {
    struct Row {
        std::string in;
        Layer layer;
        Status status;
    };
    const std::vector<Row> rows = {
        {"4abc", Layer::socketio, Status::malformed},
        {"42abc[\"x\"]", Layer::socketio, Status::malformed},
        {"4511-[\"a\"]", Layer::socketio, Status::too_large},
        {"453-[\"a\"," + kPh0 + "]", Layer::placeholders, Status::malformed}, // 3 announced, 1 sent
        {"451-[\"a\",{\"_placeholder\":true,\"num\":\"splice\"}]", Layer::placeholders, Status::malformed},
        {"451-[\"a\",{\"_placeholder\":true,\"num\":1}]", Layer::placeholders, Status::malformed},
        {"451-[\"a\",{\"_placeholder\":true,\"num\":4294967296}]", Layer::placeholders, Status::malformed},
        {"42[\"a\",}", Layer::json, Status::malformed},
        {"", Layer::engine, Status::malformed},
        {"9", Layer::engine, Status::malformed},
        // Lexically valid at every layer here: the event router refuses a non-array payload
        // ("42{}"), reserved names ("connect", "error") and a non-string event name.
        {"42{}", Layer::none, Status::ok},
        {"42[\"connect\"]", Layer::none, Status::ok},
        {"42[\"error\"]", Layer::none, Status::ok},
        {"42[{\"toString\":\"foo\"}]", Layer::none, Status::ok},
        // "2[...]" is an Engine.IO ping whose payload is never read as Socket.IO.
        {"2[\"connect\"]", Layer::none, Status::ok},
    };
    for (const auto& r : rows) {
        SCOPED_TRACE(r.in);
        const auto [layer, status] = decode_layers(r.in);
        EXPECT_EQ(layer, r.layer);
        EXPECT_EQ(status, r.status);
    }
    // The same strings as Socket.IO packets on their own (what a v4 WebSocket frame carries
    // after the Engine.IO '4').
    auto connect = socket_io::decode_packet(std::string_view("2[\"connect\"]"));
    ASSERT_TRUE(connect.ok());
    EXPECT_EQ(connect->type, SioType::event);
    auto to_string = socket_io::decode_packet(std::string_view("2[{\"toString\":\"foo\"}]"));
    ASSERT_TRUE(to_string.ok());
    EXPECT_EQ(to_string->data, "[{\"toString\":\"foo\"}]");
}

} // namespace
} // namespace outpost::proto
