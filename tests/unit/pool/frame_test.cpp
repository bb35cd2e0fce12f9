// frame_test.cpp - pool::FrameRef reference counting (copy, move, assign, release) and the live
// counters of frame_stats(); text_packet / copy_of contents, the write headroom and alignment.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pool/frame.h"
#include "pool/small_alloc.h"

namespace outpost::pool {
namespace {

struct Snapshot {
    FrameStats s = frame_stats();
    int64_t frames() const { return int64_t(frame_stats().live_frames) - int64_t(s.live_frames); }
    int64_t bytes() const { return int64_t(frame_stats().live_bytes) - int64_t(s.live_bytes); }
    int64_t allocs() const { return int64_t(frame_stats().allocations) - int64_t(s.allocations); }
};

TEST(Frame, TextPacketAndCopyOf) {
    Snapshot snap;
    {
        FrameRef t = FrameRef::text_packet('4', "2[\"a\"]");
        ASSERT_TRUE(t);
        EXPECT_EQ(t->view(), "42[\"a\"]");
        EXPECT_FALSE(t->binary);
        EXPECT_EQ(t->len, 7u);
        EXPECT_EQ(t->data()[t->len], 0) << "NUL after the bytes";
        EXPECT_EQ(t->data() - t->storage, ptrdiff_t(kFrameHeadroom));
        FrameRef b = FrameRef::copy_of(std::string("\x00\x01\x02", 3), true);
        EXPECT_TRUE(b->binary);
        EXPECT_EQ(b->view(), std::string("\x00\x01\x02", 3));
        FrameRef e = FrameRef::copy_of("", false);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->len, 0u);
        FrameRef p = FrameRef::text_packet('3', "");
        EXPECT_EQ(p->view(), "3");
        EXPECT_EQ(snap.frames(), 4);
        EXPECT_EQ(snap.bytes(), 7 + 3 + 0 + 1);
        EXPECT_EQ(snap.allocs(), 4);
    }
    EXPECT_EQ(snap.frames(), 0);
    EXPECT_EQ(snap.bytes(), 0);
    EXPECT_EQ(snap.allocs(), 4); // allocations only grow
}

// Every frame sits where its type's alignment says, whatever its size class (from a free list or
// straight from malloc) and on whichever thread: the old 16-byte promise put 16-aligned frames on
// malloc's 8-byte boundaries on 32-bit ARM.
TEST(Frame, FramesAreAlignedForTheirType) {
    auto check = [] {
        std::vector<FrameRef> frames;
        for (size_t len : {0, 1, 7, 40, 100, 300, 900, 2000, 5000, 70000})
            for (int i = 0; i < 8; ++i) frames.push_back(FrameRef::copy_of(std::string(len, 'x'), false));
        for (const FrameRef& f : frames) {
            ASSERT_TRUE(f);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(f.get()) % alignof(Frame), 0u) << "len " << f->len;
        }
        frames.clear(); // back to the free lists: the next round reuses them
    };
    check();
    std::thread bound([&] {
        small_alloc_bind_thread();
        check();
        check();
    });
    bound.join();
}

TEST(Frame, CopiesShareOneFrame) {
    Snapshot snap;
    FrameRef a = FrameRef::copy_of("hello", false);
    Frame* raw = a.get();
    EXPECT_EQ(raw->refs, 1u);
    {
        FrameRef b = a;
        EXPECT_EQ(b.get(), raw);
        EXPECT_EQ(raw->refs, 2u);
        std::vector<FrameRef> many(100, a);
        EXPECT_EQ(raw->refs, 102u);
        EXPECT_EQ(snap.frames(), 1);
        EXPECT_EQ(snap.bytes(), 5);
    }
    EXPECT_EQ(raw->refs, 1u);
    EXPECT_EQ(snap.frames(), 1);
    a = FrameRef();
    EXPECT_EQ(snap.frames(), 0);
    EXPECT_EQ(snap.bytes(), 0);
}

TEST(Frame, MoveTransfersWithoutCounting) {
    Snapshot snap;
    FrameRef a = FrameRef::copy_of("x", false);
    Frame* raw = a.get();
    FrameRef b = std::move(a);
    EXPECT_FALSE(a); // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_EQ(b.get(), raw);
    EXPECT_EQ(raw->refs, 1u);
    FrameRef c;
    c = std::move(b);
    EXPECT_EQ(raw->refs, 1u);
    EXPECT_EQ(snap.frames(), 1);
    c.~FrameRef();
    new (&c) FrameRef();
    EXPECT_EQ(snap.frames(), 0);
}

TEST(Frame, AssignmentReleasesTheOldFrame) {
    Snapshot snap;
    FrameRef a = FrameRef::copy_of("aaaa", false);
    FrameRef b = FrameRef::copy_of("bb", false);
    EXPECT_EQ(snap.frames(), 2);
    a = b; // "aaaa" goes
    EXPECT_EQ(snap.frames(), 1);
    EXPECT_EQ(snap.bytes(), 2);
    EXPECT_EQ(b->refs, 2u);
    a = a; // self-assignment keeps it alive
    EXPECT_EQ(b->refs, 2u);
    EXPECT_EQ(a->view(), "bb");
    b = FrameRef();
    EXPECT_EQ(a->refs, 1u);
    EXPECT_EQ(snap.frames(), 1);
}

TEST(Frame, AdoptAndManualRelease) {
    Snapshot snap;
    Frame* f = frame_alloc(3, true);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->refs, 1u);
    EXPECT_EQ(f->binary, true);
    ++f->refs;
    frame_release(f); // back to 1
    EXPECT_EQ(snap.frames(), 1);
    { FrameRef adopt(f); }
    EXPECT_EQ(snap.frames(), 0);
    EXPECT_EQ(frame_alloc(size_t(UINT32_MAX), false), nullptr); // over the 32-bit length
    EXPECT_EQ(snap.frames(), 0);
}

} // namespace
} // namespace outpost::pool
