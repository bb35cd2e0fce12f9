// gunzip_test.cpp - core::gunzip over stored, fixed and dynamic DEFLATE blocks, header flags, and
// every kind of damage (truncation, corruption, trailing bytes, output bound). The streams were
// made with Python's zlib; the real bundle's files are checked in tests/unit/admin.
#include "core/gunzip.h"

#include <gtest/gtest.h>

#include <string>

namespace outpost::core::test {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kText = "Hello, Outpost! Hello, Outpost! Hello, Outpost!";
// kText at level 0 (one stored block) and with Z_FIXED (one fixed-Huffman block).
constexpr std::string_view kStored =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x01\x2f\x00\xd0\xff\x48\x65\x6c\x6c\x6f\x2c\x20\x4f\x75\x74\x70\x6f\x73"
    "\x74\x21\x20\x48\x65\x6c\x6c\x6f\x2c\x20\x4f\x75\x74\x70\x6f\x73\x74\x21\x20\x48\x65\x6c\x6c\x6f\x2c\x20\x4f\x75"
    "\x74\x70\x6f\x73\x74\x21\xf4\xf8\x5b\x08\x2f\x00\x00\x00"sv;
constexpr std::string_view kFixed =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xf3\x48\xcd\xc9\xc9\xd7\x51\xf0\x2f\x2d\x29\xc8\x2f\x2e\x51\x54\xf0\xc0"
    "\xcf\x07\x00\xf4\xf8\x5b\x08\x2f\x00\x00\x00"sv;
// dynamic_input() at level 9: one dynamic-Huffman block with repeats and long matches.
constexpr std::string_view kDynamic =
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xbd\xd1\x09\x16\x81\x60\x14\x86\xe1\xad\x24\x33\xc9\x14\xc9\x54\x14\xa5"
    "\x32\x44\x84\xec\x7f\x1d\xae\xff\xbc\x6b\xb0\x80\xef\x9e\xe7\xbc\x57\x6b\x9a\x93\xa5\x1f\x67\xaf\x6a\x67\x38\x73"
    "\xf7\xc7\xfb\xa7\xd1\xb3\x16\xdb\x43\xf6\xd4\xdb\x03\x7b\xbd\x3b\xe6\x65\xdd\x18\xcf\x37\x87\x4b\x51\x69\xf5\xa7"
    "\xab\x5d\x7a\x7b\xd7\xba\x23\x67\x13\x9d\x1f\x9a\x6c\x57\x41\x72\xfd\x6d\x1d\x2f\x3c\xfd\xb6\xea\x98\x6c\xd5\x31"
    "\xd9\xaa\x63\xb2\x55\xc7\x64\xab\x8e\xc9\x56\x1d\x93\xad\x3a\x26\x5b\x75\x4c\xb6\x57\x20\x27\x20\x31\x90\x3d\x90"
    "\x2d\x90\x35\x90\x39\x90\x29\x90\x11\x10\x13\x48\x07\x48\x03\x88\x0e\xa4\x04\x52\x00\xb9\x01\x39\x03\x49\x80\x84"
    "\x40\x7c\x20\x2e\x90\x05\x10\x1b\xc8\x18\x48\x1f\x48\x17\x08\x79\x9f\xe4\xcd\xc9\x7b\x21\x6f\x4a\xde\x88\xbc\x01"
    "\x79\x3d\xf2\x2e\xc9\x3b\x23\xaf\x45\xde\x01\x79\x0d\xf2\xb6\xc8\x5b\x23\xaf\x46\xde\x17\x79\xef\xda\x9f\xff\xfc"
    "\x05\x2c\xd0\x27\x82\x58\x02\x00\x00"sv;
// "abc" with FNAME "a.txt" in the header (gzip without -n).
constexpr std::string_view kNamed =
    "\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\x03\x61\x2e\x74\x78\x74\x00\x4b\x4c\x4a\x06\x00\xc2\x41\x24\x35\x03\x00\x00\x00"sv;
constexpr std::string_view kEmpty = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"sv;

std::string dynamic_input() {
    std::string s;
    for (int i = 0; i < 600; ++i) s += char((i * 7 + (i >> 3)) % 61 + 32);
    return s;
}

TEST(Crc32, KnownValues) {
    EXPECT_EQ(crc32(""), 0u);
    EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414fa339u);
    EXPECT_EQ(crc32("dog", crc32("The quick brown fox jumps over the lazy ")), 0x414fa339u); // continues
}

TEST(Gunzip, EachBlockType) {
    for (std::string_view gz : {kStored, kFixed}) {
        auto r = gunzip(gz, 1000);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(*r, kText);
    }
    auto d = gunzip(kDynamic, 1000);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(*d, dynamic_input());
    auto n = gunzip(kNamed, 10);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, "abc");
    auto e = gunzip(kEmpty, 0);
    ASSERT_TRUE(e.ok()) << e.error().message;
    EXPECT_EQ(*e, "");
}

TEST(Gunzip, OutputBoundIsExact) {
    EXPECT_TRUE(gunzip(kDynamic, 600).ok());
    for (std::string_view gz : {kStored, kFixed, kDynamic}) {
        auto r = gunzip(gz, 46); // kText is 47 bytes, the dynamic input 600
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.status(), Status::too_large) << r.error().message;
    }
}

TEST(Gunzip, EveryTruncationFails) {
    for (std::string_view gz : {kStored, kFixed, kDynamic, kNamed, kEmpty})
        for (size_t n = 0; n < gz.size(); ++n) EXPECT_FALSE(gunzip(gz.substr(0, n), 1 << 20).ok()) << "prefix " << n;
}

TEST(Gunzip, EveryCorruptionFailsOrIsCaughtByTheTrailer) {
    // Flipping any bit anywhere must never succeed with other bytes: the CRC-32 and length check it.
    for (std::string_view gz : {kStored, kFixed, kDynamic}) {
        std::string want = *gunzip(gz, 1000);
        for (size_t i = 0; i < gz.size(); ++i)
            for (int bit = 0; bit < 8; ++bit) {
                if (i >= 4 && i < 10) continue; // MTIME, XFL and OS are informative only
                std::string bad(gz);
                bad[i] = char(bad[i] ^ (1 << bit));
                auto r = gunzip(bad, 1 << 16);
                EXPECT_TRUE(!r.ok() || *r == want) << "byte " << i << " bit " << bit;
            }
    }
}

TEST(Gunzip, RefusesBadHeadersAndTrailingBytes) {
    EXPECT_EQ(gunzip("not gzip at all, just text", 100).status(), Status::malformed);
    std::string method(kFixed);
    method[2] = 7;
    EXPECT_EQ(gunzip(method, 100).status(), Status::malformed);
    std::string reserved(kFixed);
    reserved[3] = char(0x20);
    EXPECT_EQ(gunzip(reserved, 100).status(), Status::malformed);
    std::string trailing = std::string(kFixed.substr(0, kFixed.size() - 8)) + "X" + std::string(kFixed.substr(kFixed.size() - 8));
    EXPECT_EQ(gunzip(trailing, 100).status(), Status::malformed);
    std::string two = std::string(kFixed) + std::string(kFixed); // a second member is not read
    EXPECT_FALSE(gunzip(two, 1000).ok());
    // Found by fuzz_gunzip: an FNAME whose terminating NUL lies in the trailer. The header must end
    // before the trailer (this read past the input in stored()).
    EXPECT_EQ(gunzip("\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\x03\x61\x2e\x74\x78\x74\x7e\x4b\x16\x02\xc6\xff\x00"sv, 100).status(),
              Status::malformed);
    std::string extra_into_trailer = std::string(kEmpty.substr(0, 10)) + std::string(10, '\0');
    extra_into_trailer[3] = 4; // FEXTRA
    extra_into_trailer[10] = 8; // XLEN 8: ends exactly at the trailer
    EXPECT_EQ(gunzip(extra_into_trailer, 100).status(), Status::malformed);
    // A block type 3 (reserved) right after the header.
    std::string type3 = std::string(kEmpty.substr(0, 10)) + "\x07" + std::string(9, '\0');
    EXPECT_EQ(gunzip(type3, 100).status(), Status::malformed);
}

} // namespace
} // namespace outpost::core::test
