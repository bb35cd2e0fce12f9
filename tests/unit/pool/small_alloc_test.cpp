// small_alloc_test.cpp - pool::small_alloc: reuse on the bound thread only, alignment, the cap on
// what is kept, blocks freed on another thread, and cJSON parsing a message again and again with
// no new system allocation once warm (what the event loop does for every message).
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "pool/frame.h"
#include "pool/small_alloc.h"

namespace outpost::pool {
namespace {

// Runs `f` on a fresh thread bound to the allocator (the test thread itself stays unbound).
template <class F>
void on_bound_thread(F f) {
    std::thread t([&] {
        small_alloc_bind_thread();
        f();
    });
    t.join();
}

TEST(SmallAlloc, UnboundThreadUsesMallocAndFree) {
    uint64_t reused = small_alloc_stats().reused;
    void* a = small_alloc(100);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % kSmallAllocAlign, 0u);
    small_free(a);
    void* b = small_alloc(100);
    small_free(b);
    small_free(nullptr);
    EXPECT_EQ(small_alloc_stats().reused, reused);
}

TEST(SmallAlloc, BoundThreadReusesBlocksOfTheSameClass) {
    on_bound_thread([] {
        void* a = small_alloc(100);
        ASSERT_NE(a, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % kSmallAllocAlign, 0u);
        small_free(a);
        uint64_t reused = small_alloc_stats().reused, system = small_alloc_stats().system_allocs;
        void* b = small_alloc(120); // same class (128)
        EXPECT_EQ(b, a);
        EXPECT_EQ(small_alloc_stats().reused, reused + 1);
        EXPECT_EQ(small_alloc_stats().system_allocs, system);
        small_free(b);
        void* big = small_alloc(100000); // beyond the classes: malloc'ed, never cached
        ASSERT_NE(big, nullptr);
        static_cast<char*>(big)[99999] = 1;
        small_free(big);
    });
}

TEST(SmallAlloc, KeepsAtMostOneMebibytePerClass) {
    on_bound_thread([] {
        std::vector<void*> blocks;
        for (int i = 0; i < 3000; ++i) blocks.push_back(small_alloc(1000)); // class 1024: 3 MB
        for (void* p : blocks) small_free(p);
        EXPECT_LE(small_alloc_stats().cached_bytes, 7u << 20); // 1 MiB in each of 7 classes at most
        std::vector<void*> again;
        for (int i = 0; i < 3000; ++i) again.push_back(small_alloc(1000));
        for (void* p : again) small_free(p);
    });
}

TEST(SmallAlloc, BlocksMayBeFreedOnAnotherThread) {
    void* from_bound = nullptr;
    on_bound_thread([&] { from_bound = small_alloc(64); });
    small_free(from_bound); // unbound thread: back to free(), no free list touched
    void* from_unbound = small_alloc(64);
    on_bound_thread([&] { small_free(from_unbound); }); // lands in the bound free list
}

TEST(SmallAlloc, ParsingTheSameMessageAgainNeedsNoSystemAllocation) {
    on_bound_thread([] {
        cJSON_Hooks hooks{small_alloc, small_free};
        cJSON_InitHooks(&hooks);
        const char* msg = R"(["message",{"t":1732280000123.5,"body":"hello there, a chat message","n":[1,2,3]}])";
        uint64_t system = 0;
        for (int i = 0; i < 100; ++i) {
            if (i == 1) system = small_alloc_stats().system_allocs; // after one warm-up message
            cJSON* j = cJSON_Parse(msg);
            ASSERT_NE(j, nullptr);
            char* out = cJSON_PrintUnformatted(j);
            ASSERT_NE(out, nullptr);
            cJSON_free(out);
            cJSON_Delete(j);
            FrameRef f = FrameRef::text_packet('4', msg);
            ASSERT_TRUE(f);
        }
        EXPECT_EQ(small_alloc_stats().system_allocs, system) << "steady state: every block reused";
        cJSON_InitHooks(nullptr);
    });
}

} // namespace
} // namespace outpost::pool
