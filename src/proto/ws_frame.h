// ws_frame.h - The RFC 6455 header of a frame the server sends (FIN set, unmasked, no extension).
// Owns: pure functions that write header bytes into a caller's buffer. Never: masks, fragments,
// reads frames (libwebsockets parses what clients send), or allocates.
#pragma once

#include <cstddef>
#include <cstdint>

namespace outpost::proto {

enum class WsOpcode : uint8_t { text = 0x1, binary = 0x2, close = 0x8 };

constexpr size_t kWsMaxHeader = 10; // 2 bytes, plus 8 for a 64-bit payload length
constexpr size_t kWsCloseFrame = 4; // a Close frame with a status code and no reason

// Writes the header of a final, unmasked frame carrying `payload_len` bytes into `out` (room for
// kWsMaxHeader bytes); returns its length: 2, 4 (16-bit length) or 10 (64-bit length), always the
// shortest form RFC 6455 §5.2 allows.
size_t encode_ws_header(WsOpcode op, uint64_t payload_len, unsigned char* out);

// Writes a whole Close frame with status `code` and no reason (kWsCloseFrame bytes) into `out`.
size_t encode_ws_close(uint16_t code, unsigned char* out);

} // namespace outpost::proto
