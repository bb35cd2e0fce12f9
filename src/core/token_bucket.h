// token_bucket.h - Token buckets refilled continuously (burst tokens every per_ms).
// Owns: the arithmetic only; the hub keeps one per (socket, class), net one per client address.
#pragma once

#include <algorithm>
#include <cstdint>

namespace outpost::core {

class TokenBucket {
public:
    void reset(int64_t burst, int64_t per_ms, int64_t now_ms) {
        burst_ = std::max<int64_t>(1, burst);
        per_ms_ = std::max<int64_t>(1, per_ms);
        credit_ = capacity();
        last_ms_ = now_ms;
    }
    // Takes one token; when none is left returns false and sets how long until one is.
    bool take(int64_t now_ms, int64_t& retry_after_ms) {
        refill(now_ms);
        if (credit_ >= per_ms_) {
            credit_ -= per_ms_;
            return true;
        }
        retry_after_ms = std::max<int64_t>(1, (per_ms_ - credit_ + burst_ - 1) / burst_);
        return false;
    }
    // True when the bucket is full again (an idle client: its entry can be forgotten).
    bool full(int64_t now_ms) {
        refill(now_ms);
        return credit_ >= capacity();
    }

private:
    // Credit is kept exactly, in units of 1/burst ms: a millisecond adds `burst`, a token costs
    // `per_ms`, so `burst` tokens come back every `per_ms` with nothing lost to rounding.
    int64_t capacity() const { return burst_ * per_ms_; }
    void refill(int64_t now_ms) {
        if (now_ms <= last_ms_) return;
        int64_t dt = now_ms - last_ms_;
        credit_ = dt >= per_ms_ ? capacity() : std::min(capacity(), credit_ + dt * burst_);
        last_ms_ = now_ms;
    }

    int64_t burst_ = 1, per_ms_ = 1000;
    int64_t credit_ = 0;
    int64_t last_ms_ = 0;
};

} // namespace outpost::core
