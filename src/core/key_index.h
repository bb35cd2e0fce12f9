// key_index.h - Slot numbers by a string key that lives in the slot itself (a session's sid).
// Owns: a table of slot numbers sized once (a power of two, at least twice the slots, so it is
// at most half full), open addressing with linear probing. Never: allocates after construction,
// or stores keys: KeyOf(slot) reads a slot's key, which must not change while it is indexed.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace outpost::core {

template <class KeyOf, class Hash = std::hash<std::string_view>>
class KeyIndex {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    KeyIndex(size_t slots, KeyOf key_of, Hash hash = Hash()) : key_of_(key_of), hash_(hash) {
        size_t n = 16;
        while (n < 2 * slots) n <<= 1;
        table_.assign(n, kNone);
    }

    // The slot indexed under `key`, kNone when there is none.
    uint32_t find(std::string_view key) const {
        for (size_t i = home(key);; i = next(i))
            if (table_[i] == kNone || key_of_(table_[i]) == key) return table_[i];
    }
    // Indexes `slot` under its current key (at most `slots` of them at a time).
    void insert(uint32_t slot) {
        size_t i = home(key_of_(slot));
        while (table_[i] != kNone) i = next(i);
        table_[i] = slot;
    }
    // Backward-shift deletion: the entries after the hole that may live in it move up, so a probe
    // never stops early and no tombstones pile up.
    void erase(uint32_t slot) {
        size_t hole = home(key_of_(slot));
        while (table_[hole] != slot) {
            if (table_[hole] == kNone) return; // not indexed
            hole = next(hole);
        }
        for (size_t j = next(hole); table_[j] != kNone; j = next(j)) {
            size_t h = home(key_of_(table_[j]));
            bool stays = hole < j ? (hole < h && h <= j) : (hole < h || h <= j); // h in (hole, j]
            if (stays) continue;
            table_[hole] = table_[j];
            hole = j;
        }
        table_[hole] = kNone;
    }

private:
    size_t home(std::string_view key) const { return hash_(key) & (table_.size() - 1); }
    size_t next(size_t i) const { return (i + 1) & (table_.size() - 1); }

    KeyOf key_of_;
    Hash hash_;
    std::vector<uint32_t> table_;
};

} // namespace outpost::core
