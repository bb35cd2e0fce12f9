// slot_table.h - A fixed number of slots addressed by generation-checked handles ({index, gen}).
// Owns: the slots (allocated once, at construction), each slot's generation and liveness, and
// the free list of an issuing table. Never: grows, allocates after construction, or hands out a
// slot past its capacity (acquire() returns null: the caller refuses cleanly).
//
// A table either issues handles (acquire/release: the transport's sessions) or mirrors the
// handles another table issued (claim/release: the per-session state of the layers above, kept
// at the same index). Either way find() fails on a handle whose slot has been released or
// reused since, so a timer or a callback holding an old handle can never reach a new holder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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
        : values_(capacity), gens_(capacity, 0), live_(capacity, 0), mode_(mode) {
        if (mode_ != SlotMode::issue) return;
        free_.reserve(capacity);
        for (size_t i = capacity; i-- > 0;) free_.push_back(uint32_t(i)); // slot 0 is handed out first
    }
    SlotTable(const SlotTable&) = delete;
    SlotTable& operator=(const SlotTable&) = delete;

    size_t capacity() const { return values_.size(); }
    size_t size() const { return live_count_; }              // live slots
    bool full() const { return live_count_ == values_.size(); }

    // Issuing: a free slot, now live under a new generation; null when the table is full (or
    // mirrors another). The value is as its last holder left it (the caller resets what it needs).
    T* acquire() {
        if (free_.empty()) return nullptr;
        uint32_t index = free_.back();
        free_.pop_back();
        ++gens_[index];
        live_[index] = 1;
        ++live_count_;
        return &values_[index];
    }

    // Mirroring: marks the slot of `id` live under id's generation; null when id.index is past
    // the capacity (or on an issuing table). The value is as its last holder left it.
    T* claim(SlotId id) {
        if (mode_ != SlotMode::mirror || id.index >= values_.size()) return nullptr;
        if (!live_[id.index]) ++live_count_;
        live_[id.index] = 1;
        gens_[id.index] = id.gen;
        return &values_[id.index];
    }

    // Ends the slot's life: find() fails for `id` from now on. The value stays readable through
    // references taken before (a handler may finish with it); an issuing table reuses the slot
    // last-in first-out. False when `id` is stale.
    bool release(SlotId id) {
        if (!find(id)) return false;
        live_[id.index] = 0;
        --live_count_;
        if (mode_ == SlotMode::issue) free_.push_back(id.index);
        return true;
    }

    // The live slot `id` names; null when it was released or reused since.
    T* find(SlotId id) {
        return id.index < values_.size() && live_[id.index] && gens_[id.index] == id.gen ? &values_[id.index] : nullptr;
    }
    const T* find(SlotId id) const { return const_cast<SlotTable*>(this)->find(id); }

    // The handle of a slot value that lives in this table.
    SlotId id_of(const T& value) const {
        uint32_t index = uint32_t(&value - values_.data());
        return SlotId{index, gens_[index]};
    }
    bool live(uint32_t index) const { return index < values_.size() && live_[index]; }
    // Any slot by index, live or not (an index kept elsewhere, e.g. in a key index).
    T& at(uint32_t index) { return values_[index]; }
    const T& at(uint32_t index) const { return values_[index]; }

    // Calls fn(T&) for each live slot; fn may release slots (its own or others).
    template <class F>
    void for_each(F&& fn) {
        for (uint32_t i = 0; i < values_.size(); ++i)
            if (live_[i]) fn(values_[i]);
    }

private:
    std::vector<T> values_;
    std::vector<uint32_t> gens_;
    std::vector<uint8_t> live_;
    std::vector<uint32_t> free_; // issuing tables only (reserved at construction)
    size_t live_count_ = 0;
    SlotMode mode_;
};

} // namespace outpost::core
