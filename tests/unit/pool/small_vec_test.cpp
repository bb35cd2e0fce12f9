// small_vec_test.cpp - pool::SmallVec: in place up to N, then one heap block; erase keeps order;
// moves take the heap block or copy the in-place entries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "pool/small_vec.h"

namespace outpost::pool {
namespace {

struct Id {
    uint32_t a = 7, b = 0; // default member initializers, as sio::SocketId has
    bool operator==(const Id&) const = default;
};

TEST(SmallVec, InPlaceThenHeapKeepingEveryValueInOrder) {
    SmallVec<Id, 2> v;
    EXPECT_TRUE(v.empty());
    std::vector<Id> want;
    for (uint32_t i = 0; i < 100; ++i) {
        v.push_back(Id{i, i * 3});
        want.push_back(Id{i, i * 3});
        ASSERT_EQ(v.size(), want.size());
        ASSERT_TRUE(std::equal(v.begin(), v.end(), want.begin()));
    }
    EXPECT_EQ(v.back(), (Id{99, 297}));
}

TEST(SmallVec, EraseRemoveAndPopBack) {
    SmallVec<uint32_t, 2> v;
    for (uint32_t i = 0; i < 6; ++i) v.push_back(i % 3);
    v.erase(std::remove(v.begin(), v.end(), 1u), v.end());
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ((std::vector<uint32_t>(v.begin(), v.end())), (std::vector<uint32_t>{0, 2, 0, 2}));
    v.erase(v.begin());
    v.pop_back();
    EXPECT_EQ((std::vector<uint32_t>(v.begin(), v.end())), (std::vector<uint32_t>{2, 0}));
    v.clear();
    EXPECT_TRUE(v.empty());
    v.push_back(5);
    EXPECT_EQ(v[0], 5u);
}

TEST(SmallVec, MovesInPlaceAndHeapContents) {
    SmallVec<uint32_t, 2> small, big;
    small.push_back(1);
    for (uint32_t i = 0; i < 10; ++i) big.push_back(i);
    const uint32_t* block = big.data();
    SmallVec<uint32_t, 2> a(std::move(small)), b(std::move(big));
    EXPECT_TRUE(small.empty());
    EXPECT_TRUE(big.empty());
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0], 1u);
    ASSERT_EQ(b.size(), 10u);
    EXPECT_EQ(b.data(), block) << "the heap block moves, not the values";
    a = std::move(b);
    ASSERT_EQ(a.size(), 10u);
    EXPECT_EQ(a[9], 9u);
    big.push_back(3); // a moved-from vector is empty and usable
    EXPECT_EQ(big[0], 3u);
}

} // namespace
} // namespace outpost::pool
