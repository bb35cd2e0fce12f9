// base64.cpp - Base64 and base64url codecs (see base64.h).
#include "core/base64.h"

#include <array>
#include <cstdint>

namespace outpost::core {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table(const char* alphabet) {
    std::array<int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
}
constexpr auto kStdTable = make_table(kStd);
constexpr auto kUrlTable = make_table(kUrl);

void encode(std::string_view in, std::string& out, const char* alphabet, bool pad) {
    size_t i = 0;
    out.reserve(out.size() + (in.size() + 2) / 3 * 4);
    for (; i + 3 <= in.size(); i += 3) {
        uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    size_t rest = in.size() - i;
    if (rest == 1) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (pad) out += "==";
    } else if (rest == 2) {
        uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        if (pad) out += '=';
    }
}

// Decodes `in` (no padding characters) with `table`; checks that unused bits are zero.
bool decode_unpadded(std::string_view in, std::string& out, const std::array<int8_t, 256>& table) {
    if (in.size() % 4 == 1) return false;
    out.clear();
    out.reserve(in.size() / 4 * 3 + 2);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int8_t v = table[static_cast<uint8_t>(c)];
        if (v < 0) return false;
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    // Leftover bits (2 or 4) must be zero for canonical input.
    return (acc & ((1u << bits) - 1)) == 0;
}

} // namespace

void base64_encode(std::string_view in, std::string& out) { encode(in, out, kStd, true); }
void base64url_encode(std::string_view in, std::string& out) { encode(in, out, kUrl, false); }

bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    if (in.size() % 4 != 0) return false;
    size_t pad = 0;
    while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
    return decode_unpadded(in.substr(0, in.size() - pad), out, kStdTable);
}

bool base64url_decode(std::string_view in, std::string& out) { return decode_unpadded(in, out, kUrlTable); }

} // namespace outpost::core
