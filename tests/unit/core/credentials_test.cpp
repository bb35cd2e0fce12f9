// credentials_test.cpp - core::bearer_token and core::constant_time_equal, and core::utf8_sequence.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "core/credentials.h"
#include "core/utf8.h"

namespace outpost::core {
namespace {

TEST(BearerToken, TakesTheTokenAfterTheScheme) {
    EXPECT_EQ(bearer_token("Bearer abc.def"), "abc.def");
    EXPECT_EQ(bearer_token("Bearer  x"), " x"); // one space belongs to the syntax, the rest to the token
}

TEST(BearerToken, EmptyWhenAbsentOrAnotherScheme) {
    EXPECT_EQ(bearer_token(""), "");
    EXPECT_EQ(bearer_token("Bearer "), "");
    EXPECT_EQ(bearer_token("Bearer"), "");
    EXPECT_EQ(bearer_token("bearer abc"), "");
    EXPECT_EQ(bearer_token("Basic abc"), "");
    EXPECT_EQ(bearer_token("Bearerabc"), "");
}

TEST(ConstantTimeEqual, ComparesBytes) {
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_TRUE(constant_time_equal("secret", "secret"));
    EXPECT_FALSE(constant_time_equal("secret", "secreT"));
    EXPECT_FALSE(constant_time_equal("secret", "Secret"));
    EXPECT_FALSE(constant_time_equal("secret", "secret2"));
    EXPECT_FALSE(constant_time_equal("", "x"));
    EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
    EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(Utf8, SequenceLengths) {
    EXPECT_EQ(utf8_sequence("a", 0), 1u);
    EXPECT_EQ(utf8_sequence("\xC3\xA9", 0), 2u);
    EXPECT_EQ(utf8_sequence("\xE2\x82\xAC", 0), 3u);
    EXPECT_EQ(utf8_sequence("\xF0\x9F\x98\x80", 0), 4u);
    EXPECT_EQ(utf8_sequence("\xC0\x80", 0), 0u);         // overlong NUL
    EXPECT_EQ(utf8_sequence("\xE0\x9F\xBF", 0), 0u);     // overlong 3-byte
    EXPECT_EQ(utf8_sequence("\xED\xA0\x80", 0), 0u);     // surrogate
    EXPECT_EQ(utf8_sequence("\xF0\x8F\xBF\xBF", 0), 0u); // overlong 4-byte
    EXPECT_EQ(utf8_sequence("\xF4\x90\x80\x80", 0), 0u); // above U+10FFFF
    EXPECT_EQ(utf8_sequence("\x80", 0), 0u);             // stray continuation
    EXPECT_EQ(utf8_sequence("\xE2\x82", 0), 0u);         // truncated
    EXPECT_TRUE(utf8_valid("h\xC3\xA9llo"));
    EXPECT_FALSE(utf8_valid("h\xC3llo"));
}

} // namespace
} // namespace outpost::core
