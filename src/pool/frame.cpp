// frame.cpp - Allocation and release of shared outgoing frames (see frame.h).
#include "pool/frame.h"

#include "pool/small_alloc.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace outpost::pool {
namespace {
FrameStats g_stats;
}

// A frame lives in a small_alloc block: it may not ask for more alignment than the block has.
static_assert(alignof(Frame) <= kSmallAllocAlign, "Frame is over-aligned for small_alloc");

const FrameStats& frame_stats() { return g_stats; }

Frame* frame_alloc(size_t len, bool binary) {
    if (len > UINT32_MAX - kFrameHeadroom) return nullptr;
    void* mem = small_alloc(offsetof(Frame, storage) + kFrameHeadroom + len + 1);
    if (!mem) return nullptr;
    auto* f = static_cast<Frame*>(mem);
    f->refs = 1;
    f->len = static_cast<uint32_t>(len);
    f->binary = binary;
    f->data()[len] = 0;
    ++g_stats.live_frames;
    ++g_stats.allocations;
    g_stats.live_bytes += len;
    return f;
}

void frame_release(Frame* f) {
    if (--f->refs != 0) return;
    --g_stats.live_frames;
    g_stats.live_bytes -= f->len;
    small_free(f);
}

FrameRef FrameRef::copy_of(std::string_view bytes, bool binary) {
    Frame* f = frame_alloc(bytes.size(), binary);
    if (f && !bytes.empty()) std::memcpy(f->data(), bytes.data(), bytes.size());
    return FrameRef(f);
}

FrameRef FrameRef::text_packet(char type, std::string_view payload) {
    Frame* f = frame_alloc(payload.size() + 1, false);
    if (!f) return FrameRef();
    f->data()[0] = static_cast<unsigned char>(type);
    if (!payload.empty()) std::memcpy(f->data() + 1, payload.data(), payload.size());
    return FrameRef(f);
}

} // namespace outpost::pool
