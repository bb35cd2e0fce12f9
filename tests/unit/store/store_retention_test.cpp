// store_retention_test.cpp - Retention by count, age and database size, with the pruned counters;
// a room's newest message always survives so its seq never restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/log.h"
#include "platform/platform.h"
#include "store_test_util.h"

namespace outpost::store::test {
namespace {

const bool kQuiet = (core::log_set_level(core::LogLevel::warn), true);

class StoreRetention : public ::testing::Test {
protected:
    TempDir dir;
    std::string db = dir.file("outpost.db");
    StoreOptions opts = test_options(db);

    void send(Store& s, const std::string& room, int n, int64_t ts, size_t body_bytes = 2) {
        const std::string body = "\"" + std::string(body_bytes, 'x') + "\"";
        for (int i = 0; i < n; ++i, ++next_token_)
            s.submit_message(next_token_, room, "u", room + "-" + std::to_string(next_token_), body, ts);
        for (auto& c : settle(s)) ASSERT_EQ(c.status, Status::ok) << c.error;
    }
    uint64_t next_token_ = 1;
};

TEST_F(StoreRetention, ByCountKeepsTheNewestAndCountsUnconfirmed) {
    (void)kQuiet;
    opts.max_messages_per_room = 5;
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    const int64_t now = platform::wall_ms();
    send(*s, "a", 12, now);
    send(*s, "b", 3, now);
    s->submit_cursor(900, "alice", "phone", "a", 3, -1); // confirmed 1..3; 4..7 will go unconfirmed
    s->submit_cursor(901, "bob", "phone", "a", 12, -1);
    (void)settle(*s);
    EXPECT_EQ(s->prune_now(), 7u);
    EXPECT_EQ(s->oldest_seq("a"), 8);
    EXPECT_EQ(s->latest_seq("a"), 12);
    EXPECT_EQ(s->oldest_seq("b"), 1);
    Health h = s->health();
    EXPECT_EQ(h.pruned_total, 7u);
    EXPECT_EQ(h.pruned_unconfirmed, 4u);
    EXPECT_EQ(s->prune_now(), 0u);
    // the pruned message's idempotency key went with it; seq carries on
    s->submit_message(1000, "a", "u", "a-2", "1", now);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_FALSE(done[0].duplicate);
    EXPECT_EQ(done[0].message.seq, 13);
}

TEST_F(StoreRetention, ByAgeNeverPrunesTheNewestOfARoom) {
    opts.max_age_s = 3600;
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    const int64_t now = platform::wall_ms(), old = now - 2 * 3600 * 1000;
    send(*s, "a", 5, old);
    send(*s, "a", 2, now);
    send(*s, "c", 2, old);
    EXPECT_EQ(s->prune_now(), 6u);
    EXPECT_EQ(s->oldest_seq("a"), 6);
    EXPECT_EQ(s->oldest_seq("c"), 2);
    EXPECT_EQ(s->latest_seq("c"), 2);
    EXPECT_EQ(s->health().pruned_unconfirmed, 0u);
    s.reset();
    s = open_store(opts);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->latest_seq("c"), 2); // seq survives a restart even with one message left
}

TEST_F(StoreRetention, ByBytesPrunesOldestFirstAcrossRooms) {
    opts.max_db_bytes = 256 * 1024;
    opts.max_messages_per_room = 1000000;
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    const int64_t now = platform::wall_ms();
    for (int round = 0; round < 4; ++round)
        for (const char* room : {"x", "y", "z"}) send(*s, room, 50, now, 2000);
    const int64_t before = s->health().db_bytes;
    EXPECT_GT(before, opts.max_db_bytes);
    uint64_t pruned = s->prune_now();
    EXPECT_GT(pruned, 0u);
    Health h = s->health();
    EXPECT_EQ(h.pruned_total, pruned);
    EXPECT_LT(h.db_bytes, before);
    const int64_t used = std::stoll(sql_text(db, "SELECT (page_count - freelist_count) * page_size "
                                                 "FROM pragma_page_count, pragma_freelist_count, pragma_page_size"));
    EXPECT_LE(used, opts.max_db_bytes);
    for (const char* room : {"x", "y", "z"}) {
        EXPECT_EQ(s->latest_seq(room), 200);
        EXPECT_GT(s->oldest_seq(room), 1);
        EXPECT_LE(s->oldest_seq(room), 200);
    }
}

TEST_F(StoreRetention, RunsByItselfWhenIdle) {
    opts.max_messages_per_room = 2;
    opts.retention_interval_ms = 20;
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    send(*s, "a", 10, platform::wall_ms());
    for (int i = 0; i < 200 && s->health().pruned_total < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(s->health().pruned_total, 8u);
    EXPECT_EQ(s->oldest_seq("a"), 9);
}

} // namespace
} // namespace outpost::store::test
