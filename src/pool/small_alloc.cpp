// small_alloc.cpp - Size-class free lists for the bound thread (see small_alloc.h).
#include "pool/small_alloc.h"

#include <cstdlib>

namespace outpost::pool {
namespace {

constexpr size_t kClassSize[] = {32, 64, 128, 256, 512, 1024, 2048};
constexpr uint32_t kClasses = sizeof kClassSize / sizeof kClassSize[0];
constexpr uint32_t kSystem = kClasses;       // a block malloc'ed at its own size
constexpr size_t kCacheBytesPerClass = 128u << 10; // the most kept for reuse in one class

// Before every block; its size, alignof(std::max_align_t), keeps the payload as aligned as the
// malloc'ed block under it, which is all malloc promises (8 bytes on 32-bit ARM: promising 16
// there would place 16-aligned objects on 8-aligned addresses).
struct alignas(kSmallAllocAlign) Header {
    uint32_t cls;
};
static_assert(sizeof(Header) == kSmallAllocAlign);

struct FreeBlock {
    FreeBlock* next;
};

FreeBlock* g_free[kClasses] = {};
size_t g_cached[kClasses] = {};
SmallAllocStats g_stats;
thread_local bool t_bound = false;

uint32_t class_of(size_t n) {
    for (uint32_t c = 0; c < kClasses; ++c)
        if (n <= kClassSize[c]) return c;
    return kSystem;
}

void* from_system(size_t payload, uint32_t cls) {
    auto* h = static_cast<Header*>(std::malloc(sizeof(Header) + payload));
    if (!h) return nullptr;
    h->cls = cls;
    if (t_bound) ++g_stats.system_allocs;
    return h + 1;
}

} // namespace

void* small_alloc(size_t n) {
    uint32_t cls = class_of(n);
    if (!t_bound || cls == kSystem) return from_system(n, kSystem);
    if (FreeBlock* b = g_free[cls]) {
        g_free[cls] = b->next;
        g_cached[cls] -= kClassSize[cls];
        g_stats.cached_bytes -= kClassSize[cls];
        ++g_stats.reused;
        return b;
    }
    return from_system(kClassSize[cls], cls);
}

void small_free(void* p) {
    if (!p) return;
    Header* h = static_cast<Header*>(p) - 1;
    uint32_t cls = h->cls;
    if (!t_bound || cls >= kClasses || g_cached[cls] + kClassSize[cls] > kCacheBytesPerClass) {
        std::free(h);
        return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    b->next = g_free[cls];
    g_free[cls] = b;
    g_cached[cls] += kClassSize[cls];
    g_stats.cached_bytes += kClassSize[cls];
}

void small_alloc_bind_thread() { t_bound = true; }

const SmallAllocStats& small_alloc_stats() { return g_stats; }

} // namespace outpost::pool
