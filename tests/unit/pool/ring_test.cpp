// ring_test.cpp - pool::Ring: FIFO order, growth by doubling from 8 with wrap-around preserved,
// the capacity cap, back to 8 slots once drained, and references released on pop/clear.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pool/frame.h"
#include "pool/ring.h"

namespace outpost::pool {
namespace {

TEST(Ring, FifoAcrossGrowth) {
    Ring<int> r;
    EXPECT_TRUE(r.empty());
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(r.push(i));
    EXPECT_EQ(r.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(r.front(), i);
        r.pop();
    }
    EXPECT_TRUE(r.empty());
}

// Grows while the contents wrap around the end of the buffer: order must survive the copy.
TEST(Ring, GrowthWhileWrapped) {
    for (int offset = 0; offset < 8; ++offset) {
        Ring<int> r;
        int next_in = 0, next_out = 0;
        for (int i = 0; i < 8; ++i) r.push(next_in++);
        for (int i = 0; i < offset; ++i) {
            ASSERT_EQ(r.front(), next_out++);
            r.pop();
        }
        for (int i = 0; i < offset; ++i) r.push(next_in++); // full again, wrapped by `offset`
        for (int i = 0; i < 13; ++i) r.push(next_in++);      // grows to 16, then 32
        while (!r.empty()) {
            ASSERT_EQ(r.front(), next_out++) << "offset " << offset;
            r.pop();
        }
        EXPECT_EQ(next_out, next_in);
    }
}

TEST(Ring, LongRunningWrapKeepsOrder) {
    Ring<int> r(16);
    int in = 0, out = 0;
    for (int round = 0; round < 10000; ++round) {
        int n = round % 7 + 1;
        for (int i = 0; i < n && r.size() < 16; ++i) ASSERT_TRUE(r.push(in++));
        int m = round % 5 + 1;
        for (int i = 0; i < m && !r.empty(); ++i) {
            ASSERT_EQ(r.front(), out++);
            r.pop();
        }
    }
    while (!r.empty()) {
        ASSERT_EQ(r.front(), out++);
        r.pop();
    }
    EXPECT_EQ(in, out);
}

TEST(Ring, CapIsEnforced) {
    Ring<int> r(32);
    for (int i = 0; i < 32; ++i) ASSERT_TRUE(r.push(i)) << i;
    EXPECT_FALSE(r.push(32));
    EXPECT_EQ(r.size(), 32u);
    r.pop();
    EXPECT_TRUE(r.push(32)); // room again, no growth needed
    EXPECT_FALSE(r.push(33));
    EXPECT_EQ(r.front(), 1);

    Ring<int> tiny(4); // below the first allocation (8): refuses everything
    EXPECT_FALSE(tiny.push(1));
    EXPECT_TRUE(tiny.empty());
}

TEST(Ring, PopAndClearReleaseFrames) {
    uint64_t live0 = frame_stats().live_frames;
    FrameRef f = FrameRef::copy_of("abc", false);
    {
        Ring<FrameRef> r;
        for (int i = 0; i < 20; ++i) ASSERT_TRUE(r.push(f));
        EXPECT_EQ(f->refs, 21u);
        r.pop();
        r.pop();
        EXPECT_EQ(f->refs, 19u); // pop drops the reference at once, not when the slot is reused
        r.clear();
        EXPECT_EQ(f->refs, 1u);
        EXPECT_TRUE(r.empty());
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.push(f)); // reuse after clear
        EXPECT_EQ(f->refs, 6u);
    } // the ring's destructor releases the rest
    EXPECT_EQ(f->refs, 1u);
    f = FrameRef();
    EXPECT_EQ(frame_stats().live_frames, live0);
}

TEST(Ring, BackToEightSlotsOnceDrained) {
    Ring<int> r;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(r.push(i));
    EXPECT_EQ(r.capacity(), 128u);
    for (int i = 0; i < 99; ++i) r.pop();
    EXPECT_EQ(r.capacity(), 128u) << "not while something is queued";
    EXPECT_EQ(r.front(), 99);
    r.pop();
    EXPECT_EQ(r.capacity(), 8u);
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(r.push(i)); // no growth for up to 8
    EXPECT_EQ(r.capacity(), 8u);
    for (int i = 0; i < 8; ++i) {
        ASSERT_EQ(r.front(), i);
        r.pop();
    }
    EXPECT_EQ(r.capacity(), 8u);
}

TEST(Ring, InlineSlotsFirstAndBackToThemOnceDrained) {
    Ring<std::unique_ptr<int>, 4> r;
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(r.push(std::make_unique<int>(i)));
    EXPECT_EQ(r.capacity(), 4u) << "4 fit in the ring itself";
    for (int i = 4; i < 20; ++i) ASSERT_TRUE(r.push(std::make_unique<int>(i)));
    EXPECT_EQ(r.capacity(), 32u);
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(*r.front(), i);
        r.pop();
    }
    EXPECT_EQ(r.capacity(), 4u) << "back in the ring itself";
    ASSERT_TRUE(r.push(std::make_unique<int>(7))); // wraps inside the inline slots again
    EXPECT_EQ(*r.front(), 7);
}

TEST(Ring, MoveOnlyPayload) {
    Ring<std::unique_ptr<std::string>> r;
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(r.push(std::make_unique<std::string>(std::to_string(i))));
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(*r.front(), std::to_string(i));
        r.pop();
    }
}

} // namespace
} // namespace outpost::pool
