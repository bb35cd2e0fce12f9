// key_index_test.cpp - KeyIndex: find, insert and backward-shift erase, including collisions
// and probe runs that wrap around the end of the table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/key_index.h"

namespace outpost::core {
namespace {

struct KeyOf {
    const std::vector<std::string>* keys;
    std::string_view operator()(uint32_t slot) const { return (*keys)[slot]; }
};
// The key's first character picks the home slot: collisions and wrap-around on purpose.
struct FirstCharHash {
    size_t operator()(std::string_view k) const { return k.empty() ? 0 : size_t(k[0] - 'a'); }
};

TEST(KeyIndex, FindsWhatWasInsertedAndNothingElse) {
    std::vector<std::string> keys = {"alpha", "beta", "gamma"};
    KeyIndex<KeyOf> index(keys.size(), KeyOf{&keys});
    EXPECT_EQ(index.find("alpha"), index.kNone);
    for (uint32_t i = 0; i < keys.size(); ++i) index.insert(i);
    for (uint32_t i = 0; i < keys.size(); ++i) EXPECT_EQ(index.find(keys[i]), i);
    EXPECT_EQ(index.find("delta"), index.kNone);
    EXPECT_EQ(index.find(""), index.kNone);
}

TEST(KeyIndex, EraseKeepsEveryOtherKeyFindableAcrossCollisionsAndWrapAround) {
    // 8 slots -> a table of 16. Homes 14, 15 and 0 share one probe run that wraps.
    std::vector<std::string> keys = {"o1", "o2", "p1", "o3", "a1", "p2", "a2", "b1"};
    for (uint32_t gone = 0; gone < keys.size(); ++gone) {
        KeyIndex<KeyOf, FirstCharHash> index(keys.size(), KeyOf{&keys});
        for (uint32_t i = 0; i < keys.size(); ++i) index.insert(i);
        index.erase(gone);
        EXPECT_EQ(index.find(keys[gone]), index.kNone) << keys[gone];
        for (uint32_t i = 0; i < keys.size(); ++i) {
            if (i == gone) continue;
            EXPECT_EQ(index.find(keys[i]), i) << "after erasing " << keys[gone] << ", " << keys[i];
        }
        index.erase(gone); // erasing what is not there changes nothing
        for (uint32_t i = 0; i < keys.size(); ++i) {
            if (i == gone) continue;
            EXPECT_EQ(index.find(keys[i]), i);
        }
    }
}

TEST(KeyIndex, RandomChurnMatchesASet) {
    const uint32_t n = 64;
    std::vector<std::string> keys(n);
    KeyIndex<KeyOf, FirstCharHash> index(n, KeyOf{&keys}); // few homes: long runs
    std::set<uint32_t> live;
    std::mt19937 rng(7);
    for (int step = 0; step < 20000; ++step) {
        uint32_t slot = rng() % n;
        if (live.count(slot)) {
            index.erase(slot);
            live.erase(slot);
        } else {
            keys[slot] = std::string(1, char('a' + rng() % 20)) + std::to_string(step);
            index.insert(slot);
            live.insert(slot);
        }
        if (step % 97 != 0) continue;
        for (uint32_t i = 0; i < n; ++i)
            ASSERT_EQ(index.find(keys[i]), live.count(i) ? i : index.kNone) << "step " << step << " slot " << i;
    }
}

// The table is sized for its capacity at construction but only the pages entries land in become
// resident (the old table filled every entry with kNone up front: 8 MiB for a million slots).
TEST(KeyIndex, TableIsResidentOnlyWhereEntriesLand) {
    std::vector<std::string> keys = {"alpha", "beta", "gamma"};
    KeyIndex<KeyOf> index(1000000, KeyOf{&keys}); // 2^21 entries, 8 MiB
    int64_t at_start = index.resident_bytes();
    ASSERT_GE(at_start, 0) << "resident_bytes() is not available here";
    EXPECT_EQ(at_start, 0);
    EXPECT_EQ(index.find("alpha"), index.kNone); // an untouched table reads as empty
    for (uint32_t i = 0; i < keys.size(); ++i) index.insert(i);
    for (uint32_t i = 0; i < keys.size(); ++i) EXPECT_EQ(index.find(keys[i]), i);
    EXPECT_LE(index.resident_bytes(), 4 * sysconf(_SC_PAGESIZE)); // a page per entry, one per probe read
    index.erase(1);
    EXPECT_EQ(index.find("beta"), index.kNone);
    EXPECT_EQ(index.find("gamma"), 2u);
}

} // namespace
} // namespace outpost::core
