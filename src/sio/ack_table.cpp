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
            first_ = (first_ + 1) & (cap_ - 1);
            --count_;
            --live_;
            ++dropped_;
        }
    }
    at(count_++) = tag;
    ++live_;
}

bool AckTable::take(uint32_t id, AckTag& out) {
    if (id == 0) return false;
    for (uint32_t i = count_; i-- > 0;) {
        AckTag& e = at(i);
        if (e.id != id) continue;
        out = e;
        e.id = 0;
        --live_;
        while (count_ && at(0).id == 0) { // answered oldest entries free their slots
            first_ = (first_ + 1) & (cap_ - 1);
            --count_;
        }
        while (count_ && at(count_ - 1).id == 0) --count_;
        return true;
    }
    return false;
}

void AckTable::clear() {
    slots_.reset();
    cap_ = first_ = count_ = live_ = 0;
}

} // namespace outpost::sio
