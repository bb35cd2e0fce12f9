// token_bucket_test.cpp - core::TokenBucket arithmetic: burst, continuous refill, the cap,
// retry_after exactly as long as needed, and sub-token time carried over.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "core/token_bucket.h"

namespace outpost::core {
namespace {

TEST(TokenBucket, BurstThenRefusalWithRetryAfter) {
    TokenBucket b;
    b.reset(10, 1000, 5000);
    int64_t retry = -1;
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.take(5000, retry)) << i;
    EXPECT_EQ(retry, -1) << "retry_after must be left alone on success";
    EXPECT_FALSE(b.take(5000, retry));
    EXPECT_EQ(retry, 100); // 10 per second: one token every 100 ms
    EXPECT_FALSE(b.full(5000));
}

TEST(TokenBucket, ContinuousRefillNotAWindow) {
    TokenBucket b;
    b.reset(10, 1000, 0);
    int64_t retry = 0;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.take(0, retry));
    EXPECT_FALSE(b.take(50, retry)); // half a token
    EXPECT_EQ(retry, 50);
    EXPECT_TRUE(b.take(100, retry));  // exactly one token after 100 ms
    EXPECT_FALSE(b.take(100, retry));
    EXPECT_EQ(retry, 100);
    EXPECT_TRUE(b.take(350, retry));  // 2.5 tokens refilled
    EXPECT_TRUE(b.take(350, retry));
    EXPECT_FALSE(b.take(350, retry));
    EXPECT_EQ(retry, 50);
}

TEST(TokenBucket, RefillIsCappedAtBurst) {
    TokenBucket b;
    b.reset(5, 10000, 0);
    int64_t retry = 0;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.take(0, retry));
    EXPECT_TRUE(b.full(1000000));
    int ok = 0;
    while (b.take(1000000, retry)) ++ok;
    EXPECT_EQ(ok, 5);
    EXPECT_EQ(retry, 2000);
}

TEST(TokenBucket, ClockGoingBackwardsGivesNothing) {
    TokenBucket b;
    b.reset(1, 1000, 10000);
    int64_t retry = 0;
    ASSERT_TRUE(b.take(10000, retry));
    EXPECT_FALSE(b.take(5000, retry));
    EXPECT_FALSE(b.take(10999, retry));
    EXPECT_TRUE(b.take(11000, retry));
}

TEST(TokenBucket, SubTokenTimeIsNotLost) {
    // 1 token per 10 s polled every millisecond: the token still arrives after 10 s.
    TokenBucket b;
    b.reset(1, 10000, 0);
    int64_t retry = 0;
    ASSERT_TRUE(b.take(0, retry));
    int64_t t = 1;
    while (!b.take(t, retry) && t < 20000) ++t;
    EXPECT_EQ(t, 10000);
}

struct RetryCase {
    int64_t burst, per_ms, taken_at, asked_at;
};
void PrintTo(const RetryCase& c, std::ostream* os) {
    *os << "{burst " << c.burst << ", per_ms " << c.per_ms << ", asked at " << c.asked_at << "}";
}

class RetryAfter : public ::testing::TestWithParam<RetryCase> {};

// retry_after is exactly long enough: one ms earlier is still refused, at retry_after it passes.
TEST_P(RetryAfter, IsExact) {
    const RetryCase& c = GetParam();
    TokenBucket b;
    b.reset(c.burst, c.per_ms, 0);
    int64_t retry = 0;
    for (int64_t i = 0; i < c.burst; ++i) ASSERT_TRUE(b.take(c.taken_at, retry));
    ASSERT_FALSE(b.take(c.asked_at, retry));
    ASSERT_GE(retry, 1);
    TokenBucket early = b, exact = b;
    int64_t r2 = 0;
    if (retry > 1) {
        EXPECT_FALSE(early.take(c.asked_at + retry - 1, r2)) << "retry_after " << retry << " is too long";
    }
    EXPECT_TRUE(exact.take(c.asked_at + retry, r2)) << "retry_after " << retry << " is too short";
}

INSTANTIATE_TEST_SUITE_P(Table, RetryAfter,
                         ::testing::Values(RetryCase{10, 1000, 0, 0},        // typing
                                           RetryCase{5, 10000, 0, 0},        // room
                                           RetryCase{20, 60000, 0, 0},       // presence
                                           RetryCase{30, 10000, 0, 0},       // message
                                           RetryCase{100, 60000, 0, 0},      // default
                                           RetryCase{60, 60000, 0, 0},       // connect_per_ip
                                           RetryCase{10, 1000, 0, 37},       // part refilled
                                           RetryCase{3, 1000, 0, 0},         // per_ms not a multiple
                                           RetryCase{7, 1, 0, 0},            // faster than 1 ms
                                           RetryCase{1, 86400000, 0, 0},     // one a day
                                           RetryCase{1000000, 1000, 0, 0}),  // huge burst
                         [](const auto& p) {
                             return "b" + std::to_string(p.param.burst) + "_per" + std::to_string(p.param.per_ms) + "_at" +
                                    std::to_string(p.param.asked_at);
                         });

} // namespace
} // namespace outpost::core

namespace outpost::core {
namespace {

struct PollCase {
    int64_t burst, per_ms, poll_every_ms;
};
void PrintTo(const PollCase& c, std::ostream* os) {
    *os << "{burst " << c.burst << ", per_ms " << c.per_ms << ", polled every " << c.poll_every_ms << " ms}";
}

class FrequentPolling : public ::testing::TestWithParam<PollCase> {};

// PROTOCOL.md §13: buckets are refilled continuously, `burst` tokens per `per_ms`. A client that
// keeps asking (and being refused) must get its next token when the first retry_after said, not
// later: the fractions of a token gained between two calls must not be dropped.
TEST_P(FrequentPolling, TokenArrivesWhenRetryAfterSaid) {
    const PollCase& c = GetParam();
    TokenBucket b;
    b.reset(c.burst, c.per_ms, 0);
    int64_t retry = 0;
    for (int64_t i = 0; i < c.burst; ++i) ASSERT_TRUE(b.take(0, retry));
    ASSERT_FALSE(b.take(0, retry));
    int64_t promised = retry;
    int64_t t = 0;
    int64_t dummy = 0;
    do t += c.poll_every_ms;
    while (!b.take(t, dummy) && t < 100 * c.per_ms);
    EXPECT_LE(t, promised + c.poll_every_ms) << "promised " << promised << " ms, got the token after " << t << " ms";
}

INSTANTIATE_TEST_SUITE_P(Table, FrequentPolling,
                         ::testing::Values(PollCase{10, 1000, 1},     // typing, every ms: exact
                                           PollCase{100, 60000, 1},   // default class, every ms
                                           PollCase{20, 60000, 4},    // presence, every 4 ms
                                           PollCase{5, 10000, 3},     // room, every 3 ms
                                           PollCase{30, 10000, 1}),   // message, every ms
                         [](const auto& p) {
                             return "b" + std::to_string(p.param.burst) + "_per" + std::to_string(p.param.per_ms) + "_every" +
                                    std::to_string(p.param.poll_every_ms);
                         });

} // namespace
} // namespace outpost::core
