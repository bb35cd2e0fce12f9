// ack_table.h - Ack ids the server puts on packets it sends, and one socket's table of them.
// Owns: the id sequence (1..2^31-1, wrapping: PROTOCOL.md §13, the Java and C++ client ports parse
// ack ids as 32-bit ints) and a bounded table from id to what the App wants back when a recipient
// acknowledges a pre-encoded frame (for message:new: the room and the seq).
// Never: knows sockets, rooms or what the answer means.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace outpost::sio {

constexpr uint32_t kMaxServerAckId = 0x7fffffff; // 2^31-1

// The id handed out after `id` (ids are never 0, so 0 can mark a free slot).
constexpr uint32_t next_ack_id(uint32_t id) { return id >= kMaxServerAckId || id == 0 ? 1 : id + 1; }

// What the App gets back through App::on_app_ack when the recipient acknowledges `id`.
struct AckTag {
    uint32_t id = 0;
    uint32_t key = 0;
    int64_t value = 0;
};

// One socket's acks in flight, oldest first: a ring that grows from 8 entries to kMaxEntries
// (16 bytes each) and then drops its oldest entry for each new one. An id dropped, answered or
// never handed out is simply not found. So that the App can tell an answer that skips frames
// (the recipient answers in the order it received, so unanswered frames put before an answered
// one with the same key were lost on the way), take() also hands back those earlier entries,
// and lowest() says the lowest value still unanswered for a key, counting the entries dropped
// for room (the lowest dropped value per key is remembered until the App forgets it). Lookups
// go newest first, so after the id sequence wraps (2^31-1 ids later) an id that an entry still
// holds is found for its newest use.
class AckTable {
public:
    static constexpr uint32_t kMaxEntries = 256;

    void put(const AckTag& tag);
    // Removes and returns the entry for `id`; false when there is none. With `earlier`, also
    // removes the unanswered entries with the same key put before it, oldest first, up to `max`
    // of them (the rest stay), into earlier[0..n_earlier). One scan of the table: O(kMaxEntries).
    bool take(uint32_t id, AckTag& out, AckTag* earlier = nullptr, uint32_t max = 0, uint32_t* n_earlier = nullptr);
    // The lowest value of the unanswered entries with `key` and of those dropped for room since
    // forget_dropped(key); INT64_MAX when none. One scan of the table: O(kMaxEntries).
    int64_t lowest(uint32_t key) const;
    // The lowest value dropped for room with `key` and not forgotten (false when none).
    bool dropped_low(uint32_t key, int64_t& value) const;
    void forget_dropped(uint32_t key);
    // Counts `value` as dropped for `key` (an entry the App could not put back).
    void mark_dropped(uint32_t key, int64_t value);
    void clear();
    uint32_t size() const { return live_; }    // entries held
    uint64_t dropped() const { return dropped_; } // entries dropped for room, oldest first

private:
    AckTag& at(uint32_t i) { return slots_[(first_ + i) & (cap_ - 1)]; }
    void grow();

    std::unique_ptr<AckTag[]> slots_; // none until the first put
    uint32_t cap_ = 0;   // a power of two
    uint32_t first_ = 0; // the oldest slot
    uint32_t count_ = 0; // slots from the oldest to the newest, answered ones (id 0) included
    uint32_t live_ = 0;
    uint64_t dropped_ = 0;
    // Per key, the lowest value dropped and not forgotten: one entry per key that lost an entry
    // (keys are the App's, for message:new the rooms of one socket), 16 bytes each.
    std::vector<AckTag> dropped_low_; // id unused
};

} // namespace outpost::sio
