// ack_table.cpp - One socket's bounded table of ack ids in flight (see ack_table.h).
#include "sio/ack_table.h"

namespace outpost::sio {

void AckTable::grow() {
    uint32_t cap = cap_ ? cap_ * 2 : 8;
    std::unique_ptr<AckTag[]> slots(new AckTag[cap]);
    uint32_t n = 0;
    for (uint32_t i = 0; i < count_; ++i) // answered slots are left behind
        if (at(i).id) slots[n++] = at(i);
    slots_ = std::move(slots);
    cap_ = cap;
    first_ = 0;
    count_ = n;
}

void AckTable::put(const AckTag& tag) {
    if (count_ == cap_) {
        if (cap_ < kMaxEntries && live_ == count_) {
            grow();
        } else if (live_ < count_) { // answered slots in the middle: squeeze them out in place
            uint32_t n = 0;
            for (uint32_t i = 0; i < count_; ++i)
                if (at(i).id) at(n++) = at(i);
            count_ = n;
        } else { // full of live entries at the bound: the oldest goes
            mark_dropped(at(0).key, at(0).value);
            first_ = (first_ + 1) & (cap_ - 1);
            --count_;
            --live_;
            ++dropped_;
        }
    }
    at(count_++) = tag;
    ++live_;
}

bool AckTable::take(uint32_t id, AckTag& out, AckTag* earlier, uint32_t max, uint32_t* n_earlier) {
    if (n_earlier) *n_earlier = 0;
    if (id == 0) return false;
    for (uint32_t i = count_; i-- > 0;) {
        AckTag& e = at(i);
        if (e.id != id) continue;
        out = e;
        e.id = 0;
        --live_;
        for (uint32_t j = 0, n = 0; earlier && j < i && n < max; ++j) {
            AckTag& b = at(j);
            if (!b.id || b.key != out.key) continue;
            earlier[n++] = b;
            *n_earlier = n;
            b.id = 0;
            --live_;
        }
        while (count_ && at(0).id == 0) { // answered oldest entries free their slots
            first_ = (first_ + 1) & (cap_ - 1);
            --count_;
        }
        while (count_ && at(count_ - 1).id == 0) --count_;
        return true;
    }
    return false;
}

int64_t AckTable::lowest(uint32_t key) const {
    int64_t low = INT64_MAX;
    for (uint32_t i = 0; i < count_; ++i) {
        const AckTag& e = slots_[(first_ + i) & (cap_ - 1)];
        if (e.id && e.key == key && e.value < low) low = e.value;
    }
    int64_t d;
    if (dropped_low(key, d) && d < low) low = d;
    return low;
}

bool AckTable::dropped_low(uint32_t key, int64_t& value) const {
    for (const AckTag& d : dropped_low_)
        if (d.key == key) {
            value = d.value;
            return true;
        }
    return false;
}

void AckTable::forget_dropped(uint32_t key) {
    for (size_t i = 0; i < dropped_low_.size(); ++i)
        if (dropped_low_[i].key == key) {
            dropped_low_[i] = dropped_low_.back();
            dropped_low_.pop_back();
            return;
        }
}

void AckTable::mark_dropped(uint32_t key, int64_t value) {
    for (AckTag& d : dropped_low_)
        if (d.key == key) {
            if (value < d.value) d.value = value;
            return;
        }
    dropped_low_.push_back(AckTag{0, key, value});
}

void AckTable::clear() {
    slots_.reset();
    cap_ = first_ = count_ = live_ = 0;
    dropped_low_.clear();
}

} // namespace outpost::sio
