// fuzz_ws_frame.cpp - libFuzzer target: the RFC 6455 server frame-header encoder.
// Oracle besides the sanitizers: an independent reading of the header gives back the opcode and
// the length, with FIN set, no mask, and the shortest length form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/ws_frame.h"

using namespace outpost;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// Reads a header the way a client does (RFC 6455 §5.2); returns its length.
size_t parse(const unsigned char* h, proto::WsOpcode op, uint64_t len) {
    check(h[0] == (0x80 | uint8_t(op)));
    check((h[1] & 0x80) == 0); // a server never masks
    uint64_t got = h[1] & 0x7f;
    size_t n = 2;
    if (got == 126) {
        got = (uint64_t(h[2]) << 8) | h[3];
        check(got >= 126); // shortest form
        n = 4;
    } else if (got == 127) {
        got = 0;
        for (int i = 0; i < 8; ++i) got = (got << 8) | h[2 + i];
        check(got > 0xffff); // shortest form
        n = 10;
    }
    check(got == len);
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    static const proto::WsOpcode kOps[] = {proto::WsOpcode::text, proto::WsOpcode::binary, proto::WsOpcode::close};
    proto::WsOpcode op = kOps[data[0] % 3];
    uint64_t len = 0; // big-endian from up to 8 bytes: short inputs give small lengths
    for (size_t i = 1; i < size && i <= 8; ++i) len = (len << 8) | data[i];
    unsigned char buf[proto::kWsMaxHeader + 1];
    buf[proto::kWsMaxHeader] = 0xa5;
    size_t n = proto::encode_ws_header(op, len, buf);
    check(buf[proto::kWsMaxHeader] == 0xa5 && n <= proto::kWsMaxHeader);
    check(parse(buf, op, len) == n);
    unsigned char close[proto::kWsCloseFrame];
    uint16_t code = uint16_t(len);
    check(proto::encode_ws_close(code, close) == proto::kWsCloseFrame);
    check(close[0] == 0x88 && close[1] == 2 && ((close[2] << 8) | close[3]) == code);
    return 0;
}
