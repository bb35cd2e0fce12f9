// msgpack_test.cpp - cluster/msgpack against the bytes notepack.io 3.0.1 wrote (fixtures/value_*.hex).
#include "cluster/msgpack.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numbers>

#include <gtest/gtest.h>

#include "fixtures.h"

namespace outpost::cluster::msgpack {
namespace {

using testing::fixture;
using testing::fixtures;

std::string hex(const std::string& b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (unsigned char c : b.substr(0, 64)) {
        s += d[c >> 4];
        s += d[c & 15];
    }
    return b.size() > 64 ? s + "..." : s;
}

TEST(Msgpack, EveryNotepackFixtureDecodesAndReencodesToTheSameBytes) {
    const auto all = fixtures("value_");
    ASSERT_GE(all.size(), 50u);
    for (const auto& f : all) {
        SCOPED_TRACE(f.name + ": " + f.what);
        auto r = decode(f.bytes);
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(hex(encode(r.value)), hex(f.bytes));
    }
}

// Each fixture written from scratch with Writer, as Outpost code will write its values.
TEST(Msgpack, WriterProducesNotepackBytesFromScratch) {
    const std::map<std::string, std::function<void(Writer&)>> cases = {
        {"value_nil", [](Writer& w) { w.nil(); }},
        {"value_undefined_top", [](Writer& w) { w.nil(); }},
        {"value_false", [](Writer& w) { w.boolean(false); }},
        {"value_true", [](Writer& w) { w.boolean(true); }},
        {"value_fixint_0", [](Writer& w) { w.integer(0); }},
        {"value_fixint_127", [](Writer& w) { w.number(127); }},
        {"value_negzero", [](Writer& w) { w.number(-0.0); }},
        {"value_negfixint_m1", [](Writer& w) { w.integer(-1); }},
        {"value_negfixint_m32", [](Writer& w) { w.number(-32); }},
        {"value_uint8_128", [](Writer& w) { w.integer(128); }},
        {"value_uint8_255", [](Writer& w) { w.uinteger(255); }},
        {"value_uint16_256", [](Writer& w) { w.number(256); }},
        {"value_uint16_65535", [](Writer& w) { w.integer(65535); }},
        {"value_uint32_65536", [](Writer& w) { w.integer(65536); }},
        {"value_uint32_max", [](Writer& w) { w.number(4294967295.0); }},
        {"value_uint64_2p32", [](Writer& w) { w.integer(4294967296LL); }},
        {"value_uint64_maxsafe", [](Writer& w) { w.number(9007199254740991.0); }},
        {"value_int8_m33", [](Writer& w) { w.integer(-33); }},
        {"value_int8_m128", [](Writer& w) { w.number(-128); }},
        {"value_int16_m129", [](Writer& w) { w.integer(-129); }},
        {"value_int16_m32768", [](Writer& w) { w.integer(-32768); }},
        {"value_int32_m32769", [](Writer& w) { w.integer(-32769); }},
        {"value_int32_min", [](Writer& w) { w.number(-2147483648.0); }},
        {"value_int64_below_int32", [](Writer& w) { w.integer(-2147483649LL); }},
        {"value_int64_minsafe", [](Writer& w) { w.number(-9007199254740991.0); }},
        {"value_float_half", [](Writer& w) { w.number(0.5); }},
        {"value_float_pi", [](Writer& w) { w.number(std::numbers::pi); }},
        {"value_float_neg", [](Writer& w) { w.number(-1.25); }},
        {"value_float_nan", [](Writer& w) { w.number(std::numeric_limits<double>::quiet_NaN()); }},
        {"value_float_inf", [](Writer& w) { w.number(std::numeric_limits<double>::infinity()); }},
        {"value_float_ninf", [](Writer& w) { w.number(-std::numeric_limits<double>::infinity()); }},
        {"value_fixstr_empty", [](Writer& w) { w.str(""); }},
        {"value_fixstr_abc", [](Writer& w) { w.str("abc"); }},
        {"value_fixstr_31", [](Writer& w) { w.str(std::string(31, 'x')); }},
        {"value_str8_32", [](Writer& w) { w.str(std::string(32, 'y')); }},
        {"value_str8_255", [](Writer& w) { w.str(std::string(255, 'z')); }},
        {"value_str16_256", [](Writer& w) { w.str(std::string(256, 'w')); }},
        {"value_str32_65536", [](Writer& w) { w.str(std::string(65536, 'v')); }},
        {"value_str_utf8", [](Writer& w) { w.str("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"); }},
        {"value_bin8_empty", [](Writer& w) { w.bin(""); }},
        {"value_bin8_3", [](Writer& w) { w.bin(std::string("\x01\x02\xff", 3)); }},
        {"value_bin16_256", [](Writer& w) { w.bin(std::string(256, '\x07')); }},
        {"value_bin32_65536", [](Writer& w) { w.bin(std::string(65536, '\x09')); }},
        {"value_uint8array", [](Writer& w) { w.bin("\x05\x06"); }},
        {"value_fixarray_empty", [](Writer& w) { w.array_header(0); }},
        {"value_fixarray_15",
         [](Writer& w) {
             w.array_header(15);
             for (int k = 0; k < 15; ++k) w.integer(k);
         }},
        {"value_array16_16",
         [](Writer& w) {
             w.array_header(16);
             for (int k = 0; k < 16; ++k) w.integer(k);
         }},
        {"value_array32_65536",
         [](Writer& w) {
             w.array_header(65536);
             for (int k = 0; k < 65536; ++k) w.integer(0);
         }},
        {"value_array_with_undefined", [](Writer& w) { w.array_header(3).integer(1).nil().integer(2); }},
        {"value_fixmap_empty", [](Writer& w) { w.map_header(0); }},
        {"value_fixmap_order",
         [](Writer& w) {
             w.map_header(3).str("b").integer(1).str("a").integer(2).str("c");
             w.map_header(1).str("d").array_header(1).boolean(true);
         }},
        {"value_map_undefined_omitted", [](Writer& w) { w.map_header(2).str("a").integer(1).str("b").integer(2); }},
        {"value_map16_16",
         [](Writer& w) {
             w.map_header(16);
             for (int k = 0; k < 16; ++k) w.str("k" + std::to_string(k)).integer(k);
         }},
        {"value_map_numeric_keys",
         [](Writer& w) { w.map_header(3).str("1").str("y").str("2").str("x").str("b").integer(1); }},
        {"value_date_ts32", [](Writer& w) { w.timestamp_ms(1700000000000LL); }},
        {"value_date_ts64", [](Writer& w) { w.timestamp_ms(1700000000123LL); }},
        {"value_date_ts96", [](Writer& w) { w.timestamp_ms(-1000); }},
        {"value_tojson", [](Writer& w) { w.str("j"); }},
    };
    const auto all = fixtures("value_");
    std::size_t checked = 0;
    for (const auto& f : all) {
        SCOPED_TRACE(f.name + ": " + f.what);
        auto it = cases.find(f.name);
        ASSERT_NE(it, cases.end()) << "no from-scratch case for " << f.name;
        std::string out;
        Writer w(out);
        it->second(w);
        EXPECT_EQ(hex(out), hex(f.bytes));
        checked += f.bytes.size();
    }
    EXPECT_EQ(all.size(), cases.size());
    RecordProperty("bytes_checked", static_cast<int>(checked));
}

TEST(Msgpack, DecodedValuesAreWhatNotepackMeant) {
    auto v = [](const char* name) {
        auto r = decode(fixture(name).bytes);
        EXPECT_TRUE(r.ok) << r.error;
        return r.value;
    };
    int64_t n = 0;
    EXPECT_TRUE(v("value_int64_minsafe").as_int64(n));
    EXPECT_EQ(n, -9007199254740991LL);
    EXPECT_TRUE(v("value_uint64_maxsafe").as_int64(n));
    EXPECT_EQ(n, 9007199254740991LL);
    EXPECT_TRUE(v("value_int32_min").as_int64(n));
    EXPECT_EQ(n, -2147483648LL);
    EXPECT_TRUE(v("value_date_ts32").as_timestamp_ms(n));
    EXPECT_EQ(n, 1700000000000LL);
    EXPECT_TRUE(v("value_date_ts64").as_timestamp_ms(n));
    EXPECT_EQ(n, 1700000000123LL);
    EXPECT_TRUE(v("value_date_ts96").as_timestamp_ms(n));
    EXPECT_EQ(n, -1000);
    const Value m = v("value_fixmap_order");
    ASSERT_EQ(m.type, Type::map);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m.items[0].bytes, "b"); // wire order kept
    ASSERT_NE(m.find("c"), nullptr);
    EXPECT_EQ(m.find("c")->find("d")->items[0], Value::of_bool(true));
    EXPECT_EQ(m.find("u"), nullptr); // undefined omitted by notepack
    EXPECT_EQ(v("value_str_utf8").bytes, "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT_TRUE(std::isnan(v("value_float_nan").f));
}

TEST(Msgpack, EveryStrictPrefixOfEveryFixtureIsRefusedAsTruncated) {
    std::size_t prefixes = 0;
    for (const auto& f : fixtures("")) {
        if (f.bytes.size() > 4096) continue; // the 64 KiB ones: their headers are covered below
        if (f.bytes[0] == '{') continue;     // the JSON requests and answers
        for (std::size_t len = 0; len < f.bytes.size(); ++len) {
            auto r = decode(std::string_view(f.bytes).substr(0, len));
            ASSERT_FALSE(r.ok) << f.name << " cut at " << len;
            ASSERT_FALSE(r.error.empty());
            ++prefixes;
        }
    }
    EXPECT_GT(prefixes, 1000u);
    auto big = decode(std::string_view(fixture("value_str32_65536").bytes).substr(0, 65536));
    EXPECT_FALSE(big.ok);
    EXPECT_NE(big.error.find("truncated str"), std::string::npos) << big.error;
}

TEST(Msgpack, RefusesWhatIsOverALimitOrNotMsgpack) {
    Limits l;
    l.max_depth = 4;
    EXPECT_TRUE(decode(std::string("\x91\x91\x91\xc0", 4), l).ok);
    auto deep = decode(std::string("\x91\x91\x91\x91\xc0", 5), l);
    EXPECT_FALSE(deep.ok);
    EXPECT_NE(deep.error.find("nesting deeper than 4"), std::string::npos) << deep.error;

    // 100k nested arrays: refused at the limit, without recursing 100k deep.
    EXPECT_FALSE(decode(std::string(100000, '\x91') + "\xc0").ok);

    l = Limits{};
    l.max_elements = 3;
    EXPECT_TRUE(decode(std::string("\x93\x01\x02\x03", 4), l).ok);
    auto many = decode(std::string("\x92\x01\x92\x02\x03", 5), l);
    EXPECT_FALSE(many.ok);
    EXPECT_NE(many.error.find("more than 3 elements"), std::string::npos) << many.error;
    EXPECT_TRUE(decode(std::string("\x81\xa1k\x82\xa1\x61\x01\xa1\x62\x02", 10), l).ok); // 1 + 2 map entries
    l.max_bytes = 8;
    auto big = decode(std::string("\xa9" "123456789", 10), l);
    EXPECT_FALSE(big.ok);
    EXPECT_NE(big.error.find("over the limit of 8"), std::string::npos) << big.error;

    // An array32 announcing 2^32-1 items in 5 bytes: refused before allocating.
    auto huge = decode(std::string("\xdd\xff\xff\xff\xff", 5), Limits{32, UINT32_MAX, 1u << 20});
    EXPECT_FALSE(huge.ok);
    EXPECT_NE(huge.error.find("truncated array"), std::string::npos) << huge.error;

    auto reserved = decode(std::string("\xc1", 1));
    EXPECT_FALSE(reserved.ok);
    EXPECT_NE(reserved.error.find("0xc1"), std::string::npos);
    auto trailing = decode(std::string("\xc0\xc0", 2));
    EXPECT_FALSE(trailing.ok);
    EXPECT_NE(trailing.error.find("1 trailing bytes"), std::string::npos) << trailing.error;
    EXPECT_FALSE(decode(std::string_view()).ok);
}

TEST(Msgpack, TimestampsAtTheirEdgesReadAsAJsDateWould) {
    auto ts96 = [](uint32_t ns, int64_t s) {
        std::string b;
        Writer(b).ext(-1, std::string(12, '\0'));
        for (int k = 0; k < 4; ++k) b[3 + static_cast<std::size_t>(k)] = static_cast<char>(ns >> (24 - 8 * k));
        for (int k = 0; k < 8; ++k) {
            b[7 + static_cast<std::size_t>(k)] = static_cast<char>(static_cast<uint64_t>(s) >> (56 - 8 * k));
        }
        auto r = decode(b);
        EXPECT_TRUE(r.ok) << r.error;
        return r.value;
    };
    int64_t ms = 0;
    EXPECT_TRUE(ts96(500000, -1).as_timestamp_ms(ms)); // -999.5 ms: a Date truncates toward zero
    EXPECT_EQ(ms, -999);
    EXPECT_TRUE(ts96(999999999, 5).as_timestamp_ms(ms));
    EXPECT_EQ(ms, 5999);
    EXPECT_FALSE(ts96(999999999, INT64_MAX / 1000).as_timestamp_ms(ms)); // would overflow int64 ms
    EXPECT_FALSE(ts96(0, INT64_MIN).as_timestamp_ms(ms));
}

TEST(Msgpack, IntegersAtEveryBoundaryRoundTrip) {
    const int64_t edges[] = {0, 127, 128, 255, 256, 65535, 65536, 4294967295LL, 4294967296LL, INT64_MAX,
                             -1, -32, -33, -128, -129, -32768, -32769, -2147483648LL, -2147483649LL, INT64_MIN};
    for (int64_t e : edges) {
        std::string s;
        Writer(s).integer(e);
        auto r = decode(s);
        ASSERT_TRUE(r.ok);
        int64_t back = 0;
        ASSERT_TRUE(r.value.as_int64(back));
        EXPECT_EQ(back, e);
    }
    std::string s;
    Writer(s).uinteger(UINT64_MAX);
    auto r = decode(s);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.value.u, UINT64_MAX);
    // Doubles beyond uint64 / int64 are written as float64 (notepack would wrap them).
    s.clear();
    Writer(s).number(1e20);
    EXPECT_EQ(static_cast<uint8_t>(s[0]), 0xcb);
}

} // namespace
} // namespace outpost::cluster::msgpack
