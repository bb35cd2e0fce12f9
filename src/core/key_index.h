// key_index.h - Slot numbers by a string key that lives in the slot itself (a session's sid).
// Owns: a table of slot numbers sized once (a power of two, at least twice the slots, so it is
// at most half full), open addressing with linear probing, in a core::LazyBlock (an entry holds
// slot + 1, so the zero-filled block starts empty and only the pages entries land in become
// resident). Never: allocates after construction, or stores keys: KeyOf(slot) reads a slot's key,
// which must not change while it is indexed.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/lazy_block.h"

namespace outpost::core {

template <class KeyOf, class Hash = std::hash<std::string_view>>
class KeyIndex {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    KeyIndex(size_t slots, KeyOf key_of, Hash hash = Hash())
        : key_of_(key_of), hash_(hash), size_(table_size(slots)), block_(size_ * sizeof(uint32_t)) {}

    // The slot indexed under `key`, kNone when there is none.
    uint32_t find(std::string_view key) const {
        for (size_t i = home(key);; i = next(i))
            if (entry(i) == kNone || key_of_(entry(i)) == key) return entry(i);
    }
    // Indexes `slot` under its current key (at most `slots` of them at a time).
    void insert(uint32_t slot) {
        size_t i = home(key_of_(slot));
        while (entry(i) != kNone) i = next(i);
        set(i, slot);
    }
    // Backward-shift deletion: the entries after the hole that may live in it move up, so a probe
    // never stops early and no tombstones pile up.
    void erase(uint32_t slot) {
        size_t hole = home(key_of_(slot));
        while (entry(hole) != slot) {
            if (entry(hole) == kNone) return; // not indexed
            hole = next(hole);
        }
        for (size_t j = next(hole); entry(j) != kNone; j = next(j)) {
            size_t h = home(key_of_(entry(j)));
            bool stays = hole < j ? (hole < h && h <= j) : (hole < h || h <= j); // h in (hole, j]
            if (stays) continue;
            set(hole, entry(j));
            hole = j;
        }
        set(hole, kNone);
    }

    // Bytes of the table resident now (whole pages); -1 when the system cannot tell.
    int64_t resident_bytes() const { return block_.resident_bytes(); }

private:
    static size_t table_size(size_t slots) {
        size_t n = 16;
        while (n < 2 * slots) n <<= 1;
        return n;
    }
    // Entries hold slot + 1: 0, what the block starts with, is kNone.
    uint32_t entry(size_t i) const { return block_.template at<uint32_t>(0)[i] - 1; }
    void set(size_t i, uint32_t slot) { block_.template at<uint32_t>(0)[i] = slot + 1; }
    size_t home(std::string_view key) const { return hash_(key) & (size_ - 1); }
    size_t next(size_t i) const { return (i + 1) & (size_ - 1); }

    KeyOf key_of_;
    Hash hash_;
    size_t size_;
    LazyBlock block_;
};

} // namespace outpost::core
