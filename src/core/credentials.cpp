// credentials.cpp - Bearer parsing and constant-time compare (see credentials.h).
#include "core/credentials.h"

#include <cstddef>

namespace outpost::core {

std::string_view bearer_token(std::string_view authorization) {
    constexpr std::string_view kPrefix = "Bearer ";
    if (authorization.size() <= kPrefix.size() || authorization.substr(0, kPrefix.size()) != kPrefix) return {};
    return authorization.substr(kPrefix.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    // volatile: the compiler may not turn the loop into one that stops at the first difference.
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
    return diff == 0;
}

} // namespace outpost::core
