// random_id.cpp - base64url ids from platform::random_bytes (see random_id.h).
#include "core/random_id.h"

#include <cstring>
#include <vector>

#include "core/base64.h"
#include "platform/platform.h"

namespace outpost::core {

std::string random_id(size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (!platform::random_bytes(raw.data(), raw.size())) {
        static uint64_t counter = 0;
        uint64_t seed[2] = {uint64_t(platform::monotonic_us()), ++counter};
        for (size_t i = 0; i < raw.size(); ++i) raw[i] = reinterpret_cast<unsigned char*>(seed)[i % sizeof seed] ^ uint8_t(i * 131);
    }
    std::string out;
    base64url_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()), out);
    return out;
}

} // namespace outpost::core
