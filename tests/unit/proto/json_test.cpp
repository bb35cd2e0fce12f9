// json_test.cpp - Compaction byte for byte (numbers as written, escapes kept), strict validation,
// and the spans of elements and members with where a NUL character sits.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/json.h"

namespace outpost::proto::json {
namespace {

std::string compacted(std::string_view in) {
    std::string out, why;
    EXPECT_TRUE(compact(in, out, why)) << in << ": " << why;
    return out;
}

bool refused(std::string_view in) {
    std::string out = "keep", why;
    bool ok = compact(in, out, why);
    EXPECT_EQ(out, "keep") << "nothing is appended on failure: " << in;
    return !ok && !why.empty();
}

TEST(JsonCompact, KeepsNumbersAndEscapesAsWritten) {
    EXPECT_EQ(compacted("9007199254740991"), "9007199254740991");
    EXPECT_EQ(compacted(" 5000000000000001 "), "5000000000000001");
    EXPECT_EQ(compacted("[1.50, -0, 1e400, 0.1E-7]"), "[1.50,-0,1e400,0.1E-7]");
    EXPECT_EQ(compacted("{ \"a\" : \"x\\u0000y\" ,\n\t\"b\":[ true , false,null ] }"), R"({"a":"x\u0000y","b":[true,false,null]})");
    EXPECT_EQ(compacted(R"("tab\t \"q\" \/ é \ud83d\ude00")"), R"("tab\t \"q\" \/ é \ud83d\ude00")");
    EXPECT_EQ(compacted("\"Grüße ☃ 😀\""), "\"Grüße ☃ 😀\"");
    EXPECT_EQ(compacted("{}"), "{}");
    EXPECT_EQ(compacted("[ ]"), "[]");
    EXPECT_EQ(compacted("[[[[{\"a\" : [ { } ] }]]]]"), R"([[[[{"a":[{}]}]]]])");
}

TEST(JsonCompact, RefusesWhatIsNotJson) {
    for (std::string_view bad : {"", " ", "01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10", "NaN", "Infinity", "tru", "nul",
                                 "[1,]", "[,1]", "{\"a\":1,}", "{\"a\"}", "{1:2}", "[1 2]", "\"open", "\"bad \\x escape\"",
                                 "\"\\u12G4\"", "1 2", "[1]]", "{\"a\":1}}", "'single'"})
        EXPECT_TRUE(refused(bad)) << bad;
    EXPECT_TRUE(refused(std::string_view("\"raw \x01 control\"")));
    EXPECT_TRUE(refused(std::string_view("\"raw \0 nul\"", 11)));
    EXPECT_TRUE(refused("\"\xc3\x28\""));         // bad continuation
    EXPECT_TRUE(refused("\"\\ud83d\\ude")); // an escape cut short by the end of the text (found by fuzz_json)
    EXPECT_TRUE(refused("\"\\u12"));
    std::vector<Member> ms;
    EXPECT_FALSE(members("{\"a\":\"\\ud83d\\ude", ms));
    EXPECT_TRUE(refused("\"\xed\xa0\x80\""));     // a surrogate in UTF-8
    EXPECT_TRUE(refused("\"\xc0\xaf\""));         // overlong
    EXPECT_TRUE(refused("\"\xf4\x90\x80\x80\"")); // past U+10FFFF
}

TEST(JsonCompact, NestingIsBoundedWithoutRecursion) {
    std::string deep(kMaxDepth, '['), close(kMaxDepth, ']');
    EXPECT_EQ(compacted(deep + close), deep + close);
    EXPECT_TRUE(refused("[" + deep + close + "]"));
    std::string huge(200000, '['); // far past the bound: refused, no stack overflow
    EXPECT_TRUE(refused(huge));
}

TEST(JsonSpans, ElementsAndMembersWithNul) {
    std::vector<Span> items;
    ASSERT_TRUE(elements(R"( ["message:send", {"room":"a\u0000b", "body" : "x\u0000y", "bo\u0064y":1}, 3 ] )", items));
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(items[0].text, "\"message:send\"");
    EXPECT_FALSE(items[0].nul);
    EXPECT_TRUE(items[1].nul);
    EXPECT_EQ(items[2].text, "3");
    std::vector<Member> ms;
    ASSERT_TRUE(members(items[1].text, ms));
    ASSERT_EQ(ms.size(), 3u);
    EXPECT_EQ(ms[0].key, "room");
    EXPECT_TRUE(ms[0].value.nul);
    EXPECT_EQ(ms[1].key, "body");
    EXPECT_EQ(ms[1].value.text, "\"x\\u0000y\"");
    EXPECT_TRUE(ms[1].value.nul);
    EXPECT_EQ(ms[2].key, "body"); // escapes in names are decoded, as cJSON does
    EXPECT_FALSE(ms[2].value.nul);

    ms.clear();
    ASSERT_TRUE(members(R"({"dev\u0000ice":1,"k":"\ud83d\ude00"})", ms));
    EXPECT_TRUE(ms[0].key_nul);
    EXPECT_EQ(ms[0].key, std::string("dev\0ice", 7));
    EXPECT_EQ(ms[1].value.text, "\"\\ud83d\\ude00\"");

    items.clear();
    EXPECT_TRUE(elements(std::string_view("[\"a\0b\"]", 7), items)); // raw NUL: lenient, but seen
    EXPECT_TRUE(items[0].nul);
    items.clear();
    EXPECT_FALSE(elements("{}", items));
    EXPECT_FALSE(elements("[1,", items));
    ms.clear();
    EXPECT_FALSE(members("[]", ms));
    EXPECT_TRUE(may_hold_nul("\"a\\u0000\""));
    EXPECT_FALSE(may_hold_nul("\"a\\u0001\""));
}

} // namespace
} // namespace outpost::proto::json
