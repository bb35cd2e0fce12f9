// timers.h - One min-heap of deadlines for the whole event loop.
// Owns: ordering of (deadline, callback, argument). Never: cancels entries; a callback checks
// that its owner (handle + generation in `arg`) still wants it, so stale entries are cheap.
// The event loop arms a single OS timer at next_deadline(); no wakeup per socket per second.
// An entry is 24 bytes: there is one or two per connection, so each (callback, context) pair is
// kept once in a short table and an entry holds its index.
#pragma once

#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

namespace outpost::core {

class Timers {
public:
    using Fn = void (*)(void* ctx, uint64_t arg, int64_t now_ms);

    void schedule(int64_t when_ms, Fn fn, void* ctx, uint64_t arg) {
        heap_.push(Entry{when_ms, arg, seq_++, target(fn, ctx)});
    }
    // INT64_MAX when nothing is scheduled.
    int64_t next_deadline() const { return heap_.empty() ? INT64_MAX : heap_.top().when; }
    // Runs every entry due at `now_ms`, in deadline order; callbacks may schedule more.
    void run_due(int64_t now_ms) {
        while (!heap_.empty() && heap_.top().when <= now_ms) {
            Entry e = heap_.top();
            heap_.pop();
            auto [fn, ctx] = targets_[e.target];
            fn(ctx, e.arg, now_ms);
        }
    }
    size_t size() const { return heap_.size(); }

private:
    struct Entry {
        int64_t when;
        uint64_t arg;
        uint32_t seq;    // schedule order among equal deadlines (compared modulo 2^32)
        uint32_t target; // index in targets_
        bool operator>(const Entry& o) const {
            return when != o.when ? when > o.when : int32_t(seq - o.seq) > 0;
        }
    };
    // The few distinct (callback, context) pairs of a process: a linear search is enough.
    uint32_t target(Fn fn, void* ctx) {
        for (uint32_t i = 0; i < targets_.size(); ++i)
            if (targets_[i].first == fn && targets_[i].second == ctx) return i;
        targets_.emplace_back(fn, ctx);
        return uint32_t(targets_.size() - 1);
    }
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
    std::vector<std::pair<Fn, void*>> targets_;
    uint32_t seq_ = 0;
};

} // namespace outpost::core
