// wire.h - The load generator's codecs: WebSocket client frames, Engine.IO v4 / Socket.IO v5 text.
// Owns: frame encoding (masked, as a client must), a resumable server-frame decoder, and the
// few Socket.IO text views the scenarios need. Never: touches sockets, clocks or scenario state.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace loadgen::wire {

enum Opcode : uint8_t { kCont = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// Every frame we send uses this mask key; masking is then a fixed XOR pattern, applied while the
// frame is written (one pass), and constant frames are masked once at start-up ("pre-masked").
inline constexpr uint8_t kMask[4] = {0x5a, 0x3c, 0x96, 0xe1};

// Appends one final, masked client frame carrying `payload` to `out`.
inline void append_frame(std::string& out, Opcode op, std::string_view payload) {
    size_t n = payload.size();
    out.push_back(char(0x80 | op));
    if (n < 126) {
        out.push_back(char(0x80 | n));
    } else if (n < 65536) {
        out.push_back(char(0x80 | 126));
        out.push_back(char(n >> 8));
        out.push_back(char(n & 0xff));
    } else {
        out.push_back(char(0x80 | 127));
        for (int i = 7; i >= 0; --i) out.push_back(char((uint64_t(n) >> (8 * i)) & 0xff));
    }
    out.append(reinterpret_cast<const char*>(kMask), 4);
    size_t base = out.size();
    out.append(payload);
    for (size_t i = 0; i < n; ++i) out[base + i] = char(uint8_t(out[base + i]) ^ kMask[i & 3]);
}

inline std::string frame(Opcode op, std::string_view payload) {
    std::string s;
    append_frame(s, op, payload);
    return s;
}

// One decoded server frame; `payload` points into the decoder's input.
struct Frame {
    bool fin = false;
    uint8_t opcode = 0;
    std::string_view payload;
};

enum class Decode { frame, need_more, error };

// Decodes one frame from the front of `in`; on `frame`, `used` is how many bytes it took.
// Server frames must not be masked; a masked one is a protocol error.
inline Decode decode_frame(std::string_view in, Frame& f, size_t& used) {
    if (in.size() < 2) return Decode::need_more;
    const auto* p = reinterpret_cast<const uint8_t*>(in.data());
    if (p[1] & 0x80) return Decode::error;
    uint64_t len = p[1] & 0x7f;
    size_t head = 2;
    if (len == 126) {
        if (in.size() < 4) return Decode::need_more;
        len = (uint64_t(p[2]) << 8) | p[3];
        head = 4;
    } else if (len == 127) {
        if (in.size() < 10) return Decode::need_more;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
        head = 10;
        if (len > (1ull << 31)) return Decode::error;
    }
    if (in.size() - head < len) return Decode::need_more;
    f.fin = p[0] & 0x80;
    f.opcode = p[0] & 0x0f;
    f.payload = in.substr(head, size_t(len));
    used = head + size_t(len);
    return Decode::frame;
}

// ---- Socket.IO text packets, as carried in Engine.IO "4" messages: "<type>[nsp,][id][json]".

struct SioPacket {
    char type = 0;         // '0' connect, '1' disconnect, '2' event, '3' ack, '4' connect error
    int64_t id = -1;       // ack id, -1 when absent
    std::string_view data; // the JSON after the id ("" when none)
};

// `text` is the Engine.IO message payload without its leading '4'. Only namespace "/" is used.
inline bool parse_sio(std::string_view text, SioPacket& p) {
    if (text.empty()) return false;
    p.type = text[0];
    size_t i = 1;
    if (i < text.size() && text[i] == '/') { // a namespace: skip to the comma
        size_t comma = text.find(',', i);
        if (comma == std::string_view::npos) return false;
        i = comma + 1;
    }
    p.id = -1;
    if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        int64_t v = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') v = v * 10 + (text[i++] - '0');
        p.id = v;
    }
    p.data = text.substr(i);
    return true;
}

// The event name of an event packet's data `["name",...]`, or "" when it is not one.
inline std::string_view event_name(std::string_view data) {
    if (data.size() < 4 || data[0] != '[' || data[1] != '"') return {};
    size_t end = data.find('"', 2);
    if (end == std::string_view::npos) return {};
    return data.substr(2, end - 2);
}

// The unsigned integer value of the first `"key":` in `json`, or -1. The key is matched with its
// quotes, so "t" never matches "ts". Good enough for payloads this program wrote itself.
inline int64_t find_uint(std::string_view json, std::string_view quoted_key_colon) {
    size_t at = json.find(quoted_key_colon);
    if (at == std::string_view::npos) return -1;
    size_t i = at + quoted_key_colon.size();
    if (i >= json.size() || json[i] < '0' || json[i] > '9') return -1;
    int64_t v = 0;
    while (i < json.size() && json[i] >= '0' && json[i] <= '9') v = v * 10 + (json[i++] - '0');
    return v;
}

} // namespace loadgen::wire
