// small_vec.h - A vector of trivially copyable values whose first N live inside it.
// Owns: its elements; up to N in place, more in one heap block that doubles. Never: copies
// implicitly (a copy is a range construction at the call site), or holds non-trivial types.
// For per-user and per-room lists that nearly always hold one or two entries (a user's sockets,
// a user's rooms, the sockets of a user's own room), where a std::vector's separate block would
// cost more than the entries.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace outpost::pool {

template <class T, uint32_t N>
class SmallVec {
    static_assert(std::is_trivially_copyable_v<T> && N > 0);

public:
    SmallVec() = default;
    ~SmallVec() { release(); }
    SmallVec(const SmallVec&) = delete;
    SmallVec& operator=(const SmallVec&) = delete;
    SmallVec(SmallVec&& o) noexcept { take(o); }
    SmallVec& operator=(SmallVec&& o) noexcept {
        if (this != &o) {
            release();
            take(o);
        }
        return *this;
    }

    T* data() { return cap_ > N ? u_.heap : u_.in; }
    const T* data() const { return cap_ > N ? u_.heap : u_.in; }
    T* begin() { return data(); }
    T* end() { return data() + size_; }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](size_t i) { return data()[i]; }
    const T& operator[](size_t i) const { return data()[i]; }
    T& back() { return data()[size_ - 1]; }

    void push_back(const T& v) {
        if (size_ == cap_) grow();
        data()[size_++] = v;
    }
    // Removes [first, last), keeping the order of the rest.
    T* erase(T* first, T* last) {
        std::memmove(first, last, size_t(end() - last) * sizeof(T));
        size_ -= uint32_t(last - first);
        return first;
    }
    T* erase(T* pos) { return erase(pos, pos + 1); }
    void pop_back() { --size_; }
    void clear() { size_ = 0; }

private:
    void grow() {
        uint32_t ncap = cap_ * 2;
        T* nb = static_cast<T*>(::operator new(sizeof(T) * ncap));
        std::memcpy(static_cast<void*>(nb), data(), sizeof(T) * size_);
        release();
        u_.heap = nb;
        cap_ = ncap;
    }
    void release() {
        if (cap_ > N) ::operator delete(u_.heap);
        cap_ = N;
    }
    void take(SmallVec& o) {
        size_ = o.size_;
        cap_ = o.cap_;
        if (o.cap_ > N) u_.heap = o.u_.heap;
        else std::memcpy(static_cast<void*>(u_.in), o.u_.in, sizeof(T) * o.size_);
        o.size_ = 0;
        o.cap_ = N;
    }

    uint32_t size_ = 0, cap_ = N;
    union Storage {
        Storage() {} // T may have default member initializers; the slots are written before use
        T in[N];
        T* heap;
    } u_;
};

} // namespace outpost::pool
