// frame.h - Reference-counted, immutable outgoing frames with write headroom.
// Owns: one encoded Engine.IO packet shared by every recipient's queue (a broadcast is encoded
// once). Never: knows sockets; the headroom is sized for the transport to prepend its header
// (src/net checks it covers LWS_PRE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace outpost::pool {

constexpr size_t kFrameHeadroom = 32;

struct Frame {
    uint32_t refs;
    uint32_t len;
    bool binary; // a binary message (raw bytes); otherwise an Engine.IO text packet "<type><data>"
    alignas(std::max_align_t) unsigned char storage[1]; // no more than small_alloc gives (kSmallAllocAlign)

    unsigned char* data() { return storage + kFrameHeadroom; }
    const unsigned char* data() const { return storage + kFrameHeadroom; }
    std::string_view view() const { return {reinterpret_cast<const char*>(data()), len}; }
};

// Counts live frames and bytes for metrics and leak checks in tests.
struct FrameStats {
    uint64_t live_frames = 0;
    uint64_t live_bytes = 0;
    uint64_t allocations = 0;
};
const FrameStats& frame_stats();

Frame* frame_alloc(size_t len, bool binary); // refs = 1; nullptr when memory is exhausted
void frame_release(Frame* f);

// RAII reference: copying adds a reference, destruction drops one.
class FrameRef {
public:
    FrameRef() = default;
    explicit FrameRef(Frame* adopt) : f_(adopt) {}
    FrameRef(const FrameRef& o) : f_(o.f_) { if (f_) ++f_->refs; }
    FrameRef(FrameRef&& o) noexcept : f_(std::exchange(o.f_, nullptr)) {}
    FrameRef& operator=(FrameRef o) noexcept { std::swap(f_, o.f_); return *this; }
    ~FrameRef() { if (f_) frame_release(f_); }

    // Makes a frame holding a copy of `bytes`.
    static FrameRef copy_of(std::string_view bytes, bool binary);
    // Makes a text frame "<type digit><payload>".
    static FrameRef text_packet(char type, std::string_view payload);

    Frame* get() const { return f_; }
    Frame* operator->() const { return f_; }
    explicit operator bool() const { return f_ != nullptr; }

private:
    Frame* f_ = nullptr;
};

} // namespace outpost::pool
