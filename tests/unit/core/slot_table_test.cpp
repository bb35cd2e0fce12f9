#include "core/slot_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using outpost::core::SlotId;
using outpost::core::SlotMode;
using outpost::core::SlotTable;

TEST(SlotTable, AcquireFindRelease) {
    SlotTable<std::string> t(3);
    EXPECT_EQ(t.capacity(), 3u);
    std::string* a = t.acquire();
    ASSERT_NE(a, nullptr);
    *a = "a";
    SlotId id = t.id_of(*a);
    EXPECT_EQ(id.index, 0u); // slot 0 first
    EXPECT_EQ(t.find(id), a);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(t.release(id));
    EXPECT_EQ(t.find(id), nullptr);
    EXPECT_FALSE(t.release(id)); // twice: stale
    EXPECT_EQ(t.size(), 0u);
}

TEST(SlotTable, StaleHandleFailsAfterReuse) {
    SlotTable<int> t(1);
    SlotId first = t.id_of(*t.acquire());
    t.release(first);
    int* again = t.acquire();
    ASSERT_NE(again, nullptr);
    SlotId second = t.id_of(*again);
    EXPECT_EQ(second.index, first.index);
    EXPECT_NE(second.gen, first.gen);
    EXPECT_EQ(t.find(first), nullptr);
    EXPECT_FALSE(t.release(first)); // a stale handle cannot free the new holder
    EXPECT_EQ(t.find(second), again);
}

TEST(SlotTable, RefusesWhenFullAndReusesLastFreed) {
    SlotTable<int> t(2);
    SlotId a = t.id_of(*t.acquire()), b = t.id_of(*t.acquire());
    EXPECT_TRUE(t.full());
    EXPECT_EQ(t.acquire(), nullptr);
    t.release(a);
    EXPECT_FALSE(t.full());
    EXPECT_EQ(t.id_of(*t.acquire()).index, a.index); // last in, first out
    EXPECT_EQ(t.acquire(), nullptr);
    EXPECT_NE(t.find(b), nullptr);
}

TEST(SlotTable, OutOfRangeAndDefaultHandles) {
    SlotTable<int> t(2);
    EXPECT_EQ(t.find(SlotId{}), nullptr);
    EXPECT_EQ(t.find(SlotId{7, 1}), nullptr);
    EXPECT_FALSE(t.release(SlotId{7, 1}));
    EXPECT_FALSE(t.live(7));
    EXPECT_EQ(t.find(SlotId{0, 0}), nullptr); // never acquired
}

TEST(SlotTable, ZeroCapacity) {
    SlotTable<int> t(0);
    EXPECT_TRUE(t.full());
    EXPECT_EQ(t.acquire(), nullptr);
}

TEST(SlotTable, MirrorFollowsAnotherTablesHandles) {
    SlotTable<int> issuer(4);
    SlotTable<std::string> mirror(4, SlotMode::mirror);
    EXPECT_EQ(mirror.acquire(), nullptr); // a mirror never issues
    SlotId id = issuer.id_of(*issuer.acquire());
    std::string* st = mirror.claim(id);
    ASSERT_NE(st, nullptr);
    *st = "state";
    EXPECT_EQ(mirror.find(id), st);
    EXPECT_EQ(mirror.size(), 1u);
    EXPECT_TRUE(mirror.release(id));
    EXPECT_EQ(mirror.find(id), nullptr);
    EXPECT_EQ(*st, "state"); // still readable through the reference taken before
    issuer.release(id);
    SlotId next = issuer.id_of(*issuer.acquire());
    ASSERT_NE(mirror.claim(next), nullptr);
    EXPECT_EQ(mirror.find(id), nullptr); // the old generation stays stale
    EXPECT_EQ(mirror.claim(SlotId{4, 1}), nullptr); // past the capacity
    EXPECT_EQ(issuer.claim(next), nullptr);         // an issuing table is never claimed into
}

TEST(SlotTable, ForEachVisitsLiveSlotsAndMayRelease) {
    SlotTable<int> t(4);
    for (int i = 0; i < 4; ++i) *t.acquire() = i;
    t.release(t.id_of(t.at(1)));
    std::vector<int> seen;
    t.for_each([&](int& v) {
        seen.push_back(v);
        t.release(t.id_of(v));
    });
    EXPECT_EQ(seen, (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(t.size(), 0u);
}

TEST(SlotId, PackRoundTrip) {
    SlotId id{123, 0xfffffffeu};
    EXPECT_EQ(SlotId::unpack(id.pack()), id);
}
