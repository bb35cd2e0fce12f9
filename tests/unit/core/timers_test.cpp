// timers_test.cpp - core::Timers: deadline order, FIFO among equal deadlines, only due entries
// run, callbacks may schedule more (due ones run in the same pass), next_deadline and size.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/timers.h"

namespace outpost::core {
namespace {

struct Log {
    std::vector<std::pair<uint64_t, int64_t>> calls; // (arg, now)
    Timers* timers = nullptr;
};

void record(void* ctx, uint64_t arg, int64_t now) { static_cast<Log*>(ctx)->calls.emplace_back(arg, now); }

TEST(Timers, EmptyHasNoDeadline) {
    Timers t;
    EXPECT_EQ(t.next_deadline(), INT64_MAX);
    EXPECT_EQ(t.size(), 0u);
    t.run_due(INT64_MAX - 1);
}

TEST(Timers, RunsInDeadlineOrderAndOnlyWhenDue) {
    Timers t;
    Log log;
    const int64_t when[] = {50, 10, 40, 20, 30};
    for (int i = 0; i < 5; ++i) t.schedule(when[i], record, &log, uint64_t(when[i]));
    EXPECT_EQ(t.size(), 5u);
    EXPECT_EQ(t.next_deadline(), 10);
    t.run_due(9);
    EXPECT_TRUE(log.calls.empty());
    t.run_due(30);
    ASSERT_EQ(log.calls.size(), 3u);
    EXPECT_EQ(log.calls[0].first, 10u);
    EXPECT_EQ(log.calls[1].first, 20u);
    EXPECT_EQ(log.calls[2].first, 30u);
    EXPECT_EQ(log.calls[0].second, 30); // callbacks see the time of the pass
    EXPECT_EQ(t.next_deadline(), 40);
    EXPECT_EQ(t.size(), 2u);
    t.run_due(1000);
    ASSERT_EQ(log.calls.size(), 5u);
    EXPECT_EQ(log.calls[4].first, 50u);
    EXPECT_EQ(t.size(), 0u);
}

TEST(Timers, EqualDeadlinesRunInScheduleOrder) {
    Timers t;
    Log log;
    for (uint64_t i = 0; i < 100; ++i) t.schedule(7, record, &log, i);
    t.run_due(7);
    ASSERT_EQ(log.calls.size(), 100u);
    for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(log.calls[i].first, i);
}

void reschedule(void* ctx, uint64_t arg, int64_t now) {
    auto* log = static_cast<Log*>(ctx);
    log->calls.emplace_back(arg, now);
    if (arg < 3) log->timers->schedule(now, reschedule, ctx, arg + 1); // due at once: same pass
    if (arg == 3) log->timers->schedule(now + 100, reschedule, ctx, 99); // later
}

TEST(Timers, CallbacksMayScheduleMore) {
    Timers t;
    Log log;
    log.timers = &t;
    t.schedule(5, reschedule, &log, 0);
    t.run_due(5);
    ASSERT_EQ(log.calls.size(), 4u); // 0, 1, 2, 3 in one pass
    EXPECT_EQ(log.calls[3].first, 3u);
    EXPECT_EQ(t.next_deadline(), 105);
    t.run_due(104);
    EXPECT_EQ(log.calls.size(), 4u);
    t.run_due(105);
    EXPECT_EQ(log.calls.back().first, 99u);
}

TEST(Timers, NegativeAndLateDeadlines) {
    Timers t;
    Log log;
    t.schedule(-5, record, &log, 1);
    t.schedule(INT64_MAX - 1, record, &log, 2);
    t.run_due(0);
    ASSERT_EQ(log.calls.size(), 1u);
    EXPECT_EQ(t.next_deadline(), INT64_MAX - 1);
}

} // namespace
} // namespace outpost::core
