// ack_table_test.cpp - The server's ack id sequence (31 bits, wrapping) and a socket's bounded
// table from ack id to what the App wants back.
#include <gtest/gtest.h>

#include "sio/ack_table.h"

namespace outpost::sio {
namespace {

TEST(AckIds, WrapWithinOneTo2Pow31Minus1) {
    EXPECT_EQ(next_ack_id(0), 1u);
    EXPECT_EQ(next_ack_id(1), 2u);
    EXPECT_EQ(next_ack_id(kMaxServerAckId - 1), kMaxServerAckId);
    EXPECT_EQ(next_ack_id(kMaxServerAckId), 1u);
    EXPECT_EQ(kMaxServerAckId, 2147483647u);
    // 3 million rooms' worth of ids (the old scheme put the room index in the id) stay small.
    uint32_t id = kMaxServerAckId - 1500000;
    for (int i = 0; i < 3000000; ++i) {
        id = next_ack_id(id);
        ASSERT_GE(id, 1u);
        ASSERT_LE(id, kMaxServerAckId);
    }
    EXPECT_EQ(id, 1500000u);
}

TEST(AckTable, TakesWhatWasPutOnceAndAcrossTheWrap) {
    AckTable t;
    uint32_t id = kMaxServerAckId - 2;
    for (int i = 0; i < 6; ++i, id = next_ack_id(id)) t.put(AckTag{id, uint32_t(i), 100 + i});
    EXPECT_EQ(t.size(), 6u);
    AckTag got;
    ASSERT_TRUE(t.take(kMaxServerAckId, got)); // the third one
    EXPECT_EQ(got.key, 2u);
    EXPECT_EQ(got.value, 102);
    EXPECT_FALSE(t.take(kMaxServerAckId, got)); // answered once only
    ASSERT_TRUE(t.take(2, got));                // after the wrap: 1, 2, 3
    EXPECT_EQ(got.key, 4u);
    EXPECT_FALSE(t.take(0, got));
    EXPECT_FALSE(t.take(12345, got)); // never handed out
    EXPECT_EQ(t.size(), 4u);
}

TEST(AckTable, BoundedTheOldestIsDroppedAndAnsweredSlotsAreReused) {
    AckTable t;
    uint32_t id = 0;
    for (uint32_t i = 0; i < AckTable::kMaxEntries + 10; ++i) t.put(AckTag{id = next_ack_id(id), i, i});
    EXPECT_EQ(t.size(), AckTable::kMaxEntries);
    EXPECT_EQ(t.dropped(), 10u);
    AckTag got;
    for (uint32_t old = 1; old <= 10; ++old) EXPECT_FALSE(t.take(old, got)) << old; // dropped
    EXPECT_TRUE(t.take(11, got));
    EXPECT_TRUE(t.take(id, got));
    // A client that answers every ack keeps the table from dropping anything, however long.
    AckTable u;
    for (uint32_t i = 0; i < 100000; ++i) {
        id = next_ack_id(id);
        u.put(AckTag{id, 1, i});
        if (i % 3 == 2) { // answers in bursts, newest first
            for (uint32_t back = 0; back < 3; ++back) ASSERT_TRUE(u.take(id - back, got)) << i;
        }
    }
    EXPECT_EQ(u.dropped(), 0u);
    EXPECT_LE(u.size(), 2u);
    // Answered entries in the middle free room without dropping live ones.
    AckTable v;
    for (uint32_t i = 1; i <= AckTable::kMaxEntries; ++i) v.put(AckTag{i, 0, i});
    for (uint32_t i = 2; i <= AckTable::kMaxEntries; i += 2) ASSERT_TRUE(v.take(i, got));
    for (uint32_t i = 0; i < AckTable::kMaxEntries / 2; ++i) v.put(AckTag{100000 + i, 0, i});
    EXPECT_EQ(v.dropped(), 0u);
    EXPECT_TRUE(v.take(1, got)); // the oldest live entry is still there
}

TEST(AckTable, AfterTheSequenceWrapsTheNewestUseOfAnIdIsFound) {
    AckTable t;
    t.put(AckTag{7, 1, 10}); // never answered
    t.put(AckTag{7, 2, 20}); // the same id, 2^31-1 ids later
    AckTag got;
    ASSERT_TRUE(t.take(7, got));
    EXPECT_EQ(got.key, 2u);
}

// Issue 14 defect 1: what an answer skipped. take() hands back the unanswered entries with the
// same key put before the answered one; lowest() counts entries dropped from a full table.
TEST(AckTable, TakeHandsBackEarlierUnansweredEntriesOfTheSameKey) {
    AckTable t;
    t.put(AckTag{1, 5, 1});
    t.put(AckTag{2, 6, 1}); // another key
    t.put(AckTag{3, 5, 2});
    t.put(AckTag{4, 5, 3});
    t.put(AckTag{5, 5, 4}); // put after the answered one
    EXPECT_EQ(t.lowest(5), 1);
    AckTag got, earlier[4];
    uint32_t n = 9;
    ASSERT_TRUE(t.take(4, got, earlier, 4, &n));
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(earlier[0].id, 1u);
    EXPECT_EQ(earlier[1].id, 3u);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.lowest(5), 4);
    EXPECT_EQ(t.lowest(6), 1);
    EXPECT_EQ(t.lowest(7), INT64_MAX);
    ASSERT_TRUE(t.take(5, got, earlier, 4, &n));
    EXPECT_EQ(n, 0u);
}

TEST(AckTable, DroppedEntriesKeepTheirKeysLowestValue) {
    AckTable t;
    for (uint32_t i = 1; i <= AckTable::kMaxEntries + 3; ++i) t.put(AckTag{i, i % 2, int64_t(i)});
    EXPECT_EQ(t.dropped(), 3u); // values 1, 2, 3
    int64_t low = 0;
    ASSERT_TRUE(t.dropped_low(1, low));
    EXPECT_EQ(low, 1);
    ASSERT_TRUE(t.dropped_low(0, low));
    EXPECT_EQ(low, 2);
    EXPECT_EQ(t.lowest(1), 1);
    t.forget_dropped(1);
    EXPECT_FALSE(t.dropped_low(1, low));
    EXPECT_EQ(t.lowest(1), 5); // the oldest entry still held
    t.mark_dropped(1, 4);
    EXPECT_EQ(t.lowest(1), 4);
    t.clear();
    EXPECT_EQ(t.lowest(0), INT64_MAX);
}

} // namespace
} // namespace outpost::sio
