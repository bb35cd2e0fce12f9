// timers.h - One min-heap of deadlines for the whole event loop.
// Owns: ordering of (deadline, callback, argument). Never: cancels entries; a callback checks
// that its owner (handle + generation in `arg`) still wants it, so stale entries are cheap.
// The event loop arms a single OS timer at next_deadline(); no wakeup per socket per second.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace outpost::core {

class Timers {
public:
    using Fn = void (*)(void* ctx, uint64_t arg, int64_t now_ms);

    void schedule(int64_t when_ms, Fn fn, void* ctx, uint64_t arg) {
        heap_.push(Entry{when_ms, seq_++, fn, ctx, arg});
    }
    // INT64_MAX when nothing is scheduled.
    int64_t next_deadline() const { return heap_.empty() ? INT64_MAX : heap_.top().when; }
    // Runs every entry due at `now_ms`, in deadline order; callbacks may schedule more.
    void run_due(int64_t now_ms) {
        while (!heap_.empty() && heap_.top().when <= now_ms) {
            Entry e = heap_.top();
            heap_.pop();
            e.fn(e.ctx, e.arg, now_ms);
        }
    }
    size_t size() const { return heap_.size(); }

private:
    struct Entry {
        int64_t when;
        uint64_t seq;
        Fn fn;
        void* ctx;
        uint64_t arg;
        bool operator>(const Entry& o) const { return when != o.when ? when > o.when : seq > o.seq; }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
    uint64_t seq_ = 0;
};

} // namespace outpost::core
