// fuzz_gunzip.cpp - libFuzzer target for core::gunzip(): any bytes, as a gzip member. It must
// never read or write out of bounds, never exceed its output bound, and whatever it accepts must
// match its own trailer (CRC-32 and length), which gunzip checks and this target checks again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/gunzip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    constexpr size_t kMaxOut = 1 << 20;
    auto r = outpost::core::gunzip(in, kMaxOut);
    if (r.ok()) {
        if (r->size() > kMaxOut) std::abort();
        auto le32 = [&](size_t at) {
            return uint32_t(data[at]) | uint32_t(data[at + 1]) << 8 | uint32_t(data[at + 2]) << 16 | uint32_t(data[at + 3]) << 24;
        };
        if (outpost::core::crc32(*r) != le32(size - 8) || uint32_t(r->size()) != le32(size - 4)) std::abort();
    }
    return 0;
}
