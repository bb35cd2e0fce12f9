// lazy_block.h - A fixed block of zero-filled memory whose pages are committed on first write.
// Owns: one mapping from platform::map_zeroed, given back at destruction. Never: grows, or writes
// to its pages itself: a table sized once for its capacity (max_connections) costs resident
// memory only for the parts its owner has written to (the slots in use), not for the capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "platform/platform.h"

namespace outpost::core {

class LazyBlock {
public:
    // Throws std::bad_alloc when the address space cannot be had (at start-up, like a vector).
    explicit LazyBlock(size_t bytes) : bytes_(bytes), p_(platform::map_zeroed(bytes)) {
        if (bytes_ && !p_) throw std::bad_alloc();
    }
    ~LazyBlock() { platform::unmap_zeroed(p_, bytes_); }
    LazyBlock(const LazyBlock&) = delete;
    LazyBlock& operator=(const LazyBlock&) = delete;

    // The bytes at `offset`, seen as U (the caller lays the block out and aligns its parts).
    template <class U>
    U* at(size_t offset) const {
        return static_cast<U*>(static_cast<void*>(static_cast<unsigned char*>(p_) + offset));
    }
    size_t size() const { return bytes_; }
    // Bytes of the block resident now (whole pages); -1 when the system cannot tell.
    int64_t resident_bytes() const { return p_ ? platform::resident_bytes(p_, bytes_) : 0; }

    // Where a part of `count` elements of `size` bytes (aligned to `align`, a power of two) ends
    // when it starts at or after `offset`; its start is put in `start`. Throws std::bad_alloc when
    // the block would not fit the address space (a 32-bit size_t).
    static size_t place(size_t offset, uint64_t count, size_t size, size_t align, size_t& start) {
        if (count > UINT32_MAX) throw std::bad_alloc();
        uint64_t begin = (uint64_t(offset) + align - 1) & ~uint64_t(align - 1);
        uint64_t end = begin + count * size;
        if (end > SIZE_MAX) throw std::bad_alloc();
        start = size_t(begin);
        return size_t(end);
    }

private:
    size_t bytes_;
    void* p_;
};

} // namespace outpost::core
