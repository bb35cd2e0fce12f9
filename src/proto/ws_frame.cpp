// ws_frame.cpp - RFC 6455 server frame headers (see ws_frame.h).
// Owns: the length encodings of §5.2. Never: writes past kWsMaxHeader bytes.
#include "proto/ws_frame.h"

namespace outpost::proto {

size_t encode_ws_header(WsOpcode op, uint64_t payload_len, unsigned char* out) {
    size_t n = 0;
    out[n++] = static_cast<unsigned char>(0x80 | uint8_t(op)); // FIN + opcode
    if (payload_len < 126) {
        out[n++] = static_cast<unsigned char>(payload_len);
    } else if (payload_len <= 0xffff) {
        out[n++] = 126;
        out[n++] = static_cast<unsigned char>(payload_len >> 8);
        out[n++] = static_cast<unsigned char>(payload_len);
    } else {
        out[n++] = 127;
        for (int i = 7; i >= 0; --i) out[n++] = static_cast<unsigned char>(payload_len >> (8 * i));
    }
    return n;
}

size_t encode_ws_close(uint16_t code, unsigned char* out) {
    size_t n = encode_ws_header(WsOpcode::close, 2, out);
    out[n++] = static_cast<unsigned char>(code >> 8);
    out[n++] = static_cast<unsigned char>(code & 0xff);
    return n;
}

} // namespace outpost::proto
