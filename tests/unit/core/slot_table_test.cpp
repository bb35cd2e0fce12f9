#include "core/slot_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

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

// A 1 KiB slot value that counts its constructions and destructions.
struct Counted {
    static inline int made = 0, gone = 0;
    Counted() { ++made; }
    ~Counted() { ++gone; }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;
    char bytes[1024];
};

// The capacity is reserved, not committed: nothing is constructed or made resident at start, and
// a slot costs memory from its first use on (the old table constructed all its slots up front:
// made == capacity, and the whole block resident).
TEST(SlotTable, CapacityCostsNothingUntilSlotsAreUsed) {
    Counted::made = Counted::gone = 0;
    {
        SlotTable<Counted> t(100000); // 100 MiB of capacity
        EXPECT_EQ(Counted::made, 0);
        EXPECT_EQ(t.high_water(), 0u);
        int64_t at_start = t.resident_bytes();
        ASSERT_GE(at_start, 0) << "resident_bytes() is not available here";
        EXPECT_EQ(at_start, 0);
        SlotId a = t.id_of(*t.acquire()), b = t.id_of(*t.acquire());
        ASSERT_NE(t.acquire(), nullptr);
        EXPECT_EQ(Counted::made, 3);
        EXPECT_EQ(t.high_water(), 3u);
        const int64_t page = sysconf(_SC_PAGESIZE);
        EXPECT_LE(t.resident_bytes(), 5 * page); // 3 KiB of values, a page of each bookkeeping array
        t.release(a);
        EXPECT_EQ(t.id_of(*t.acquire()).index, a.index); // reused: constructed once
        EXPECT_EQ(Counted::made, 3);
        EXPECT_NE(t.find(b), nullptr);
    }
    EXPECT_EQ(Counted::gone, 3); // the table destroys what it constructed, and only that
}

// Capacity stays exact with lazy slots: the capacity+1-th acquire is refused, every slot is
// handed out once in index order, then the freed ones come back last in, first out.
TEST(SlotTable, LazySlotsKeepTheCapacityExact) {
    SlotTable<int> t(1000);
    for (uint32_t i = 0; i < 1000; ++i) {
        int* v = t.acquire();
        ASSERT_NE(v, nullptr);
        EXPECT_EQ(t.id_of(*v).index, i);
    }
    EXPECT_TRUE(t.full());
    EXPECT_EQ(t.acquire(), nullptr);
    t.release(t.id_of(t.at(10)));
    t.release(t.id_of(t.at(500)));
    EXPECT_EQ(t.id_of(*t.acquire()).index, 500u);
    EXPECT_EQ(t.id_of(*t.acquire()).index, 10u);
    EXPECT_EQ(t.acquire(), nullptr);
}

// A mirror constructs the slots its issuer hands out, in whatever order they are claimed.
TEST(SlotTable, MirrorConstructsOnlyClaimedSlots) {
    Counted::made = Counted::gone = 0;
    {
        SlotTable<Counted> mirror(5000, SlotMode::mirror);
        ASSERT_NE(mirror.claim(SlotId{4000, 1}), nullptr);
        ASSERT_NE(mirror.claim(SlotId{7, 3}), nullptr);
        EXPECT_EQ(Counted::made, 2);
        EXPECT_EQ(mirror.high_water(), 4001u); // a mark, not a count
        int visited = 0;
        mirror.for_each([&](Counted&) { ++visited; });
        EXPECT_EQ(visited, 2);
        EXPECT_TRUE(mirror.release(SlotId{4000, 1}));
        EXPECT_EQ(mirror.find(SlotId{4000, 1}), nullptr);
        ASSERT_NE(mirror.claim(SlotId{4000, 2}), nullptr);
        EXPECT_EQ(Counted::made, 2);
        EXPECT_FALSE(mirror.live(8)); // below the mark, never claimed
        EXPECT_EQ(mirror.find(SlotId{8, 0}), nullptr);
    }
    EXPECT_EQ(Counted::gone, 2);
}

TEST(SlotId, PackRoundTrip) {
    SlotId id{123, 0xfffffffeu};
    EXPECT_EQ(SlotId::unpack(id.pack()), id);
}
