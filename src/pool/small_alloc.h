// small_alloc.h - Free lists of small blocks for the event-loop thread.
// Owns: blocks of a few size classes kept for reuse, so that what is parsed, built and sent for
// each message (cJSON nodes and strings, outgoing frames) reuses memory instead of calling malloc
// in steady state. Never: shares a free list between threads. Only the bound thread reuses;
// blocks allocated or freed on any other thread go straight to malloc/free, so a block may be
// freed anywhere.
#pragma once

#include <cstddef>
#include <cstdint>

namespace outpost::pool {

// Like malloc/free, with malloc's alignment: kSmallAllocAlign, alignof(std::max_align_t) (16 on
// x86-64 and arm64, 8 on 32-bit ARM, whose malloc gives no more). `small_free(nullptr)` does nothing.
constexpr size_t kSmallAllocAlign = alignof(std::max_align_t);
void* small_alloc(size_t n);
void small_free(void* p);

// Makes the calling thread the one whose small blocks are kept for reuse.
void small_alloc_bind_thread();

struct SmallAllocStats {
    uint64_t system_allocs = 0; // blocks that came from malloc
    uint64_t reused = 0;        // blocks served from a free list
    uint64_t cached_bytes = 0;  // held in free lists now (bounded per class)
};
const SmallAllocStats& small_alloc_stats();

} // namespace outpost::pool
