// json_writer_test.cpp - core::JsonWriter: separators, every value kind, string escaping as cJSON
// prints it, U+FFFD for invalid UTF-8, and output that cJSON parses back to the same strings.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

#include "core/cjson_ptr.h"
#include "core/json_writer.h"

namespace outpost::core {
namespace {

std::string escaped(std::string_view s) {
    std::string out;
    json_append_string(out, s);
    return out;
}

// What cJSON prints for the string s (s without NUL bytes).
std::string cjson_quoted(const std::string& s) {
    CJsonPtr j(cJSON_CreateString(s.c_str()));
    CJsonText t(cJSON_PrintUnformatted(j.get()));
    return t.get();
}

TEST(JsonWriter, ObjectsArraysAndSeparators) {
    std::string out = "42";
    JsonWriter w(out);
    w.begin_array().string("ev").begin_object();
    w.member("a", 1).member("b", "x").member("c", true).key("d").null();
    w.key("e").begin_array().end_array().key("f").begin_object().end_object();
    w.key("g").begin_array().number(1).number(-2).begin_object().end_object().end_array();
    w.end_object().end_array();
    EXPECT_EQ(out, R"(42["ev",{"a":1,"b":"x","c":true,"d":null,"e":[],"f":{},"g":[1,-2,{}]}])");
}

TEST(JsonWriter, IntegersAtTheirLimits) {
    std::string out;
    JsonWriter w(out);
    w.begin_array()
        .number(std::numeric_limits<int64_t>::min())
        .number(std::numeric_limits<int64_t>::max())
        .number(std::numeric_limits<uint64_t>::max())
        .number(0)
        .number(uint8_t{255})
        .number(short{-7})
        .end_array();
    EXPECT_EQ(out, "[-9223372036854775808,9223372036854775807,18446744073709551615,0,255,-7]");
}

TEST(JsonWriter, FixedAndNonFinite) {
    std::string out;
    JsonWriter w(out);
    w.begin_array().fixed(2.26, 1).fixed(0, 1).fixed(-1.5, 2).fixed(NAN, 1).fixed(INFINITY, 1).fixed(1e300, 1).end_array();
    CJsonPtr j(cJSON_Parse(out.c_str()));
    ASSERT_NE(j, nullptr) << out;
    EXPECT_EQ(out.substr(0, 25), "[2.3,0.0,-1.50,null,null,");
    EXPECT_EQ(cJSON_GetArrayItem(j.get(), 5)->valuedouble, 1e300) << out; // too long for %.1f: %.17g
}

TEST(JsonWriter, RawIsCopiedAsIs) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().key("body").raw(R"({"t":"1.50","n":1.50})").member("id", "m1").end_object();
    EXPECT_EQ(out, R"({"body":{"t":"1.50","n":1.50},"id":"m1"})");
}

TEST(JsonWriter, EscapesLikeCJson) {
    EXPECT_EQ(escaped(R"(a"b\c/d)"), R"("a\"b\\c/d")");
    EXPECT_EQ(escaped("\b\f\n\r\t"), R"("\b\f\n\r\t")");
    EXPECT_EQ(escaped(std::string_view("\0\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
    std::string all;
    for (int c = 1; c < 0x80; ++c) all += char(c);
    all += "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";
    EXPECT_EQ(escaped(all), cjson_quoted(all));
}

TEST(JsonWriter, MemberNamesAreEscaped) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().member("x\":1,\"admin", true).end_object();
    EXPECT_EQ(out, R"({"x\":1,\"admin":true})");
    CJsonPtr j(cJSON_Parse(out.c_str()));
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(cJSON_GetArraySize(j.get()), 1);
    EXPECT_EQ(cJSON_GetObjectItemCaseSensitive(j.get(), "admin"), nullptr);
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(escaped("a\xFF" "b"), "\"a" + fffd + "b\"");
    EXPECT_EQ(escaped("\xC0\xAF"), "\"" + fffd + fffd + "\"");             // overlong '/'
    EXPECT_EQ(escaped("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\""); // surrogate U+D800
    EXPECT_EQ(escaped("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");
    EXPECT_EQ(escaped("x\xE2\x82"), "\"x" + fffd + fffd + "\""); // truncated at the end
    EXPECT_EQ(escaped("\x80"), "\"" + fffd + "\"");
    EXPECT_EQ(escaped("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\""); // U+10FFFF is valid
}

TEST(JsonWriter, EveryByteStringRoundTripsThroughCJson) {
    // Every single byte and every pair of bytes 0x01..0xff: the output always parses, and a
    // valid input reads back unchanged.
    for (int a = 1; a < 256; ++a) {
        for (int b = 1; b < 256; b += 7) {
            std::string s{char(a), char(b)};
            std::string out = escaped(s);
            CJsonPtr j(cJSON_ParseWithLength(out.data(), out.size()));
            ASSERT_TRUE(j && cJSON_IsString(j.get())) << a << "," << b << ": " << out;
            if (a < 0x80 && b < 0x80) {
                EXPECT_EQ(std::string(j->valuestring), s);
            }
        }
    }
}

} // namespace
} // namespace outpost::core
