// base64_test.cpp - Table-driven tests of the base64 (padded) and base64url (unpadded) codecs.
#include "core/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace outpost::core {
namespace {

using std::string_literals::operator""s;

struct Row {
    std::string raw;
    std::string std_b64;
    std::string url_b64;
};

// RFC 4648 §10 test vectors plus bytes that differ between the two alphabets.
const std::vector<Row> kVectors = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {"\x00"s, "AA==", "AA"},
    {"\x00\x00\x00"s, "AAAA", "AAAA"},
    {"\xFB\xFF", "+/8=", "-_8"},
    {"\xFF\xFF\xFF", "////", "____"},
    {"\x01\x02\x03", "AQID", "AQID"},
};

TEST(Base64, EncodeVectors) {
    for (const auto& r : kVectors) {
        std::string out = "prefix:";
        base64_encode(r.raw, out);
        EXPECT_EQ(out, "prefix:" + r.std_b64); // appends
        std::string url;
        base64url_encode(r.raw, url);
        EXPECT_EQ(url, r.url_b64);
    }
}

TEST(Base64, DecodeVectors) {
    for (const auto& r : kVectors) {
        std::string out = "stale";
        ASSERT_TRUE(base64_decode(r.std_b64, out)) << r.std_b64;
        EXPECT_EQ(out, r.raw); // cleared first
        std::string url = "stale";
        ASSERT_TRUE(base64url_decode(r.url_b64, url)) << r.url_b64;
        EXPECT_EQ(url, r.raw);
    }
}

TEST(Base64, StandardRejects) {
    const std::vector<std::string> bad = {
        "A", "AA", "AAA", "AAAAA",   // not a multiple of 4
        "A===", "====", "AA=A", "=AAA", "AA==AAAA", "Zg=\x00"s,
        "Zh==",                      // unused bits set (non-canonical)
        "Zm9=",                      // unused bits set
        "-_8=",                      // url alphabet
        "AA A", "AA\nA", "AAA\x80", "AAA.",
        "Zg==\n",
    };
    for (const auto& in : bad) {
        std::string out;
        EXPECT_FALSE(base64_decode(in, out)) << testing::PrintToString(in);
    }
}

TEST(Base64, UrlRejects) {
    const std::vector<std::string> bad = {
        "A", "AAAAA",                // length 1 mod 4
        "Zg==", "Zg=", "AA=A",       // padding
        "+/8", "AB+C", "AB/C",       // standard alphabet
        "Zh", "Zm9", "-_9",          // unused bits set
        "AA A", "AA\n", "\x00\x00"s, "\xC3\xA9\x41\x41",
    };
    for (const auto& in : bad) {
        std::string out;
        EXPECT_FALSE(base64url_decode(in, out)) << testing::PrintToString(in);
    }
}

TEST(Base64, RoundTripEveryLengthAndByte) {
    std::string raw;
    for (int i = 0; i < 600; ++i) raw += static_cast<char>((i * 37 + 11) & 0xFF);
    for (size_t n = 0; n <= raw.size(); n += (n < 70 ? 1 : 53)) {
        const std::string in = raw.substr(0, n);
        std::string a, b, back;
        base64_encode(in, a);
        base64url_encode(in, b);
        EXPECT_EQ(a.size(), (n + 2) / 3 * 4);
        EXPECT_EQ(a.find_first_of("-_"), std::string::npos);
        EXPECT_EQ(b.find_first_of("+/="), std::string::npos);
        ASSERT_TRUE(base64_decode(a, back));
        EXPECT_EQ(back, in);
        ASSERT_TRUE(base64url_decode(b, back));
        EXPECT_EQ(back, in);
    }
}

} // namespace
} // namespace outpost::core
