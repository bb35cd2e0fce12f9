// ring.h - A growable ring buffer (FIFO) on small_alloc blocks.
// Owns: element storage, power-of-two capacity from 8 (or its Inline slots) up to a cap. Grows
// by doubling when full; once emptied it goes back to its first slots, returning the bigger block
// to small_alloc's free lists, where the next ring to grow finds it: a burst queued for one
// connection is not kept by that connection for its whole life. With Inline slots (a power of
// two) the first slots live in the ring itself, so an idle ring holds no heap at all.
// Never: calls malloc in steady state on the loop thread.
#pragma once

#include <array>
#include <cstddef>
#include <new>
#include <utility>

#include "pool/small_alloc.h"

namespace outpost::pool {

template <class T, size_t Inline = 0>
class Ring {
    static_assert((Inline & (Inline - 1)) == 0, "Inline slots: a power of two");

public:
    explicit Ring(size_t max_capacity = 1u << 16) : max_(max_capacity) {}
    ~Ring() { release(); }
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    size_t size() const { return size_; }
    size_t capacity() const { return cap_; }
    bool empty() const { return size_ == 0; }

    // False when the ring is at its maximum capacity (or memory ran out).
    bool push(T value) {
        if (size_ == cap_ && !grow()) return false;
        buf_[(head_ + size_) & (cap_ - 1)] = std::move(value);
        ++size_;
        return true;
    }
    T& front() { return buf_[head_]; }
    void pop() {
        buf_[head_] = T();
        head_ = (head_ + 1) & (cap_ - 1);
        if (--size_ == 0) shrink();
    }
    void clear() { while (size_) pop(); }

private:
    static constexpr size_t kFirst = 8; // the first heap block of a ring without inline slots
    T* inline_slots() { return Inline ? inline_.data() : nullptr; }

    bool grow() {
        size_t ncap = cap_ ? cap_ * 2 : kFirst;
        if (ncap > max_) return false;
        T* nb = allocate(ncap);
        if (!nb) return false;
        for (size_t i = 0; i < size_; ++i) nb[i] = std::move(buf_[(head_ + i) & (cap_ - 1)]);
        release();
        buf_ = nb;
        cap_ = ncap;
        head_ = 0;
        return true;
    }
    // Empty and grown: back to the inline slots, or to kFirst slots (keeps the storage when
    // that cannot be had).
    void shrink() {
        head_ = 0;
        if (Inline) {
            release();
            return;
        }
        if (cap_ <= kFirst) return;
        T* nb = allocate(kFirst);
        if (!nb) return;
        release();
        buf_ = nb;
        cap_ = kFirst;
    }
    static T* allocate(size_t n) {
        T* p = static_cast<T*>(small_alloc(n * sizeof(T)));
        if (p)
            for (size_t i = 0; i < n; ++i) new (p + i) T();
        return p;
    }
    // Back to the inline slots (none: no storage).
    void release() {
        if (buf_ && buf_ != inline_slots()) {
            for (size_t i = 0; i < cap_; ++i) buf_[i].~T();
            small_free(buf_);
        }
        buf_ = inline_slots();
        cap_ = Inline;
    }

    std::array<T, Inline> inline_{};
    T* buf_ = inline_slots();
    size_t cap_ = Inline, head_ = 0, size_ = 0, max_;
};

} // namespace outpost::pool
