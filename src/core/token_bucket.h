// token_bucket.h - Token buckets refilled continuously (burst tokens every per_ms).
// Owns: the arithmetic only; the hub keeps one per (socket, class), net one per client address.
#pragma once

#include <algorithm>
#include <cstdint>

namespace outpost::core {

class TokenBucket {
public:
    void reset(int64_t burst, int64_t per_ms, int64_t now_ms) {
        burst_ = burst;
        per_ms_ = per_ms;
        tokens_milli_ = burst * 1000;
        last_ms_ = now_ms;
    }
    // Takes one token; when none is left returns false and sets how long until one is.
    bool take(int64_t now_ms, int64_t& retry_after_ms) {
        refill(now_ms);
        if (tokens_milli_ >= 1000) {
            tokens_milli_ -= 1000;
            return true;
        }
        // One token takes per_ms / burst ms; the missing fraction of it is what must pass.
        int64_t missing = 1000 - tokens_milli_;
        retry_after_ms = std::max<int64_t>(1, (missing * per_ms_ + burst_ * 1000 - 1) / (burst_ * 1000));
        return false;
    }

    // True when the bucket is full again (an idle client: its entry can be forgotten).
    bool full(int64_t now_ms) {
        refill(now_ms);
        return tokens_milli_ >= burst_ * 1000;
    }

private:
    void refill(int64_t now_ms) {
        if (now_ms <= last_ms_ || per_ms_ <= 0) return;
        int64_t gained = (now_ms - last_ms_) * burst_ * 1000 / per_ms_;
        if (gained <= 0) return; // keep last_ms_ so sub-token time is not lost
        tokens_milli_ = std::min(burst_ * 1000, tokens_milli_ + gained);
        last_ms_ = now_ms;
    }

    int64_t burst_ = 1, per_ms_ = 1000;
    int64_t tokens_milli_ = 0; // thousandths of a token
    int64_t last_ms_ = 0;
};

} // namespace outpost::core
