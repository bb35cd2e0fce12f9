// ws_frame_test.cpp - The RFC 6455 header encoder: each length form at its edges, and Close.
#include "proto/ws_frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace outpost::proto {
namespace {

std::vector<unsigned char> header(WsOpcode op, uint64_t len) {
    unsigned char buf[kWsMaxHeader + 1];
    buf[kWsMaxHeader] = 0xee; // never written
    size_t n = encode_ws_header(op, len, buf);
    EXPECT_EQ(buf[kWsMaxHeader], 0xee);
    return {buf, buf + n};
}

using Bytes = std::vector<unsigned char>;

TEST(WsFrame, SevenBitLengths) {
    EXPECT_EQ(header(WsOpcode::text, 0), (Bytes{0x81, 0}));
    EXPECT_EQ(header(WsOpcode::binary, 1), (Bytes{0x82, 1}));
    EXPECT_EQ(header(WsOpcode::text, 125), (Bytes{0x81, 125}));
}

TEST(WsFrame, SixteenBitLengths) {
    EXPECT_EQ(header(WsOpcode::text, 126), (Bytes{0x81, 126, 0x00, 0x7e}));
    EXPECT_EQ(header(WsOpcode::binary, 0x1234), (Bytes{0x82, 126, 0x12, 0x34}));
    EXPECT_EQ(header(WsOpcode::text, 0xffff), (Bytes{0x81, 126, 0xff, 0xff}));
}

TEST(WsFrame, SixtyFourBitLengths) {
    EXPECT_EQ(header(WsOpcode::text, 0x10000), (Bytes{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
    EXPECT_EQ(header(WsOpcode::binary, 0x0102030405060708ull), (Bytes{0x82, 127, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(WsFrame, CloseWithCode) {
    unsigned char buf[kWsCloseFrame];
    ASSERT_EQ(encode_ws_close(1009, buf), kWsCloseFrame);
    EXPECT_EQ(Bytes(buf, buf + 4), (Bytes{0x88, 2, 0x03, 0xf1}));
}

} // namespace
} // namespace outpost::proto
