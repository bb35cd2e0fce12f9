// slot_table.h - A fixed number of slots addressed by generation-checked handles ({index, gen}).
// Owns: the slots (reserved once, at construction, for the whole capacity), each slot's
// generation and liveness, and the free list of an issuing table. Never: grows, allocates after
// construction, hands out a slot past its capacity (acquire() returns null: the caller refuses
// cleanly), or touches a slot before its first use: the block is a core::LazyBlock and a slot is
// constructed when it is first acquired or claimed, so a table sized for max_connections costs
// resident memory for the slots used so far, not for its capacity.
//
// A table either issues handles (acquire/release: the transport's sessions) or mirrors the
// handles another table issued (claim/release: the per-session state of the layers above, kept
// at the same index). Either way find() fails on a handle whose slot has been released or
// reused since, so a timer or a callback holding an old handle can never reach a new holder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "core/lazy_block.h"

namespace outpost::core {

// A handle to a slot; `gen` changes each time an issuing table reuses the slot.
struct SlotId {
    uint32_t index = UINT32_MAX;
    uint32_t gen = 0;
    bool operator==(const SlotId&) const = default;
    // One integer, for timer arguments and map keys.
    uint64_t pack() const { return (uint64_t(gen) << 32) | index; }
    static SlotId unpack(uint64_t v) { return {uint32_t(v), uint32_t(v >> 32)}; }
};

// Whether a table hands out its own handles or follows those of another table.
enum class SlotMode : uint8_t { issue, mirror };

template <class T>
class SlotTable {
public:
    explicit SlotTable(size_t capacity, SlotMode mode = SlotMode::issue)
        : capacity_(capacity), mode_(mode), block_(layout(capacity, mode, parts_)) {}
    ~SlotTable() {
        for (uint32_t i = 0; i < used_; ++i)
            if (state()[i] != kUnused) values()[i].~T();
    }
    SlotTable(const SlotTable&) = delete;
    SlotTable& operator=(const SlotTable&) = delete;

    size_t capacity() const { return capacity_; }
    size_t size() const { return live_count_; }              // live slots
    bool full() const { return live_count_ == capacity_; }

    // Issuing: a free slot, now live under a new generation; null when the table is full (or
    // mirrors another). The value is as its last holder left it (the caller resets what it needs);
    // a slot never used before is default-constructed now. The slot freed last comes back first,
    // then the unused ones in index order (slot 0 first).
    T* acquire() {
        if (mode_ != SlotMode::issue) return nullptr;
        uint32_t index;
        if (free_count_ > 0) index = free_list()[--free_count_];
        else if (fresh_ < capacity_) index = uint32_t(fresh_++);
        else return nullptr;
        T* v = construct(index);
        ++gens()[index];
        state()[index] = kLive;
        ++live_count_;
        return v;
    }

    // Mirroring: marks the slot of `id` live under id's generation; null when id.index is past
    // the capacity (or on an issuing table). The value is as its last holder left it.
    T* claim(SlotId id) {
        if (mode_ != SlotMode::mirror || id.index >= capacity_) return nullptr;
        T* v = construct(id.index);
        if (state()[id.index] != kLive) ++live_count_;
        state()[id.index] = kLive;
        gens()[id.index] = id.gen;
        return v;
    }

    // Ends the slot's life: find() fails for `id` from now on. The value stays readable through
    // references taken before (a handler may finish with it); an issuing table reuses the slot
    // last-in first-out. False when `id` is stale.
    bool release(SlotId id) {
        if (!find(id)) return false;
        state()[id.index] = kFree;
        --live_count_;
        if (mode_ == SlotMode::issue) free_list()[free_count_++] = id.index;
        return true;
    }

    // The live slot `id` names; null when it was released or reused since.
    T* find(SlotId id) {
        return live(id.index) && gens()[id.index] == id.gen ? &values()[id.index] : nullptr;
    }
    const T* find(SlotId id) const { return const_cast<SlotTable*>(this)->find(id); }

    // The handle of a slot value that lives in this table.
    SlotId id_of(const T& value) const {
        uint32_t index = uint32_t(&value - values());
        return SlotId{index, gens()[index]};
    }
    bool live(uint32_t index) const { return index < used_ && state()[index] == kLive; }
    // A slot by index that has been in use, live or not (an index kept elsewhere, e.g. in a key
    // index).
    T& at(uint32_t index) { return *construct(index); }
    const T& at(uint32_t index) const { return const_cast<SlotTable*>(this)->at(index); }

    // Calls fn(T&) for each live slot; fn may release slots (its own or others).
    template <class F>
    void for_each(F&& fn) {
        for (uint32_t i = 0; i < used_; ++i)
            if (state()[i] == kLive) fn(values()[i]);
    }

    // 1 + the highest index used so far, and the bytes of the table resident now: both stay
    // small until connections come.
    size_t high_water() const { return used_; }
    int64_t resident_bytes() const { return block_.resident_bytes(); }

private:
    // A slot's state, one byte each; the zero-filled block starts every slot unused.
    static constexpr uint8_t kUnused = 0, kFree = 1, kLive = 2;

    // Where each part lives in the block: the values, then the generations, the free list
    // (issuing tables) and the states.
    struct Parts {
        size_t gens = 0, free_list = 0, state = 0;
    };
    static size_t layout(size_t capacity, SlotMode mode, Parts& parts) {
        size_t first = 0; // the values start the block
        size_t end = LazyBlock::place(0, capacity, sizeof(T), alignof(T), first);
        end = LazyBlock::place(end, capacity, sizeof(uint32_t), alignof(uint32_t), parts.gens);
        end = LazyBlock::place(end, mode == SlotMode::issue ? capacity : 0, sizeof(uint32_t), alignof(uint32_t), parts.free_list);
        return LazyBlock::place(end, capacity, 1, 1, parts.state);
    }
    T* values() const { return block_.template at<T>(0); }
    uint32_t* gens() const { return block_.template at<uint32_t>(parts_.gens); }
    uint32_t* free_list() const { return block_.template at<uint32_t>(parts_.free_list); }
    uint8_t* state() const { return block_.template at<uint8_t>(parts_.state); }

    // The slot at `index`, default-constructed on its first use. Slots below used_ that were never
    // used (a mirror claims what its issuer hands out) stay unconstructed.
    T* construct(uint32_t index) {
        T* v = &values()[index];
        if (state()[index] == kUnused) {
            new (v) T();
            state()[index] = kFree;
            if (index >= used_) used_ = index + 1;
        }
        return v;
    }

    size_t capacity_;
    SlotMode mode_;
    Parts parts_;
    LazyBlock block_;
    size_t used_ = 0;       // 1 + the highest index constructed so far
    size_t fresh_ = 0;      // issuing tables: the slots below it have been handed out at least once
    size_t free_count_ = 0; // entries of free_list() (issuing tables)
    size_t live_count_ = 0;
};

} // namespace outpost::core
