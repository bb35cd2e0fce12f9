// ring.h - A growable ring buffer (FIFO) that keeps its storage once grown.
// Owns: element storage, power-of-two capacity up to a cap. Never: allocates in steady state
// (it grows only when fuller than ever before, and never shrinks).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace outpost::pool {

template <class T>
class Ring {
public:
    explicit Ring(size_t max_capacity = 1u << 16) : max_(max_capacity) {}

    size_t size() const { return size_; }
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
        --size_;
    }
    void clear() { while (size_) pop(); }

private:
    bool grow() {
        size_t ncap = cap_ ? cap_ * 2 : 8;
        if (ncap > max_) return false;
        std::unique_ptr<T[]> nb(new (std::nothrow) T[ncap]);
        if (!nb) return false;
        for (size_t i = 0; i < size_; ++i) nb[i] = std::move(buf_[(head_ + i) & (cap_ - 1)]);
        buf_ = std::move(nb);
        cap_ = ncap;
        head_ = 0;
        return true;
    }

    std::unique_ptr<T[]> buf_;
    size_t cap_ = 0, head_ = 0, size_ = 0, max_;
};

} // namespace outpost::pool
