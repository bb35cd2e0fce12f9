// engine.cpp - Engine.IO v4 and v3 packet and polling-payload codecs (see engine.h).
// Owns: decoding that never reads past its input and never allocates more than the input
// implies. Never: trusts a length field beyond the bytes actually present.
#include "proto/engine.h"

#include <charconv>

#include "core/base64.h"
#include "core/utf8.h"

namespace outpost::proto {
namespace {

using core::utf8_sequence;

constexpr char kSeparatorV4 = '\x1e';
constexpr size_t kMaxLengthDigits = 10; // v3 length prefixes; 10 digits exceed any body we accept
constexpr unsigned char kV3LengthEnd = 0xFF;

Status bad() { return Status::malformed; }

bool type_from_digit(char c, EioType& type) {
    if (c < '0' || c > '6') return false;
    type = static_cast<EioType>(c - '0');
    return true;
}

bool type_from_byte(unsigned char b, EioType& type) {
    if (b > 6) return false;
    type = static_cast<EioType>(b);
    return true;
}

char type_digit(EioType type) { return static_cast<char>('0' + static_cast<int>(type)); }

// Bytes of `s` that hold exactly `units` UTF-16 code units; false when `s` is too short,
// not valid UTF-8, or the boundary falls inside a surrogate pair.
bool take_utf16_units(std::string_view s, uint64_t units, size_t& bytes) {
    uint64_t seen = 0;
    size_t i = 0;
    while (seen < units) {
        if (i >= s.size()) return false;
        const size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        seen += (n == 4) ? 2 : 1;
        i += n;
    }
    bytes = i;
    return seen == units;
}

// "b<base64>" bodies: decodes into `scratch` and makes a binary packet of `type`.
Status decode_base64_packet(std::string_view b64, EioType type, std::string& scratch, EioPacket& out) {
    if (!core::base64_decode(b64, scratch)) return bad();
    out.type = type;
    out.binary = true;
    out.data = scratch;
    return Status::ok;
}

Status deliver(Result<EioPacket> packet, PacketSink& sink) {
    if (!packet) return packet.status();
    return sink.on_packet(*packet);
}

// One part of a v4 payload: a text packet, or 'b' + base64 for a binary message.
Status decode_part_v4(std::string_view part, PacketSink& sink, std::string& scratch) {
    if (part.empty()) return bad();
    if (part[0] != 'b') return deliver(decode_packet(part), sink);
    EioPacket packet;
    const Status s = decode_base64_packet(part.substr(1), EioType::message, scratch, packet);
    return s == Status::ok ? sink.on_packet(packet) : s;
}

// One packet of a v3 text payload: a text packet, or "b<type digit><base64>".
Status decode_part_v3(std::string_view part, PacketSink& sink, std::string& scratch) {
    if (part[0] != 'b') return deliver(decode_packet(part), sink);
    EioType type{};
    if (part.size() < 2 || !type_from_digit(part[1], type)) return bad();
    EioPacket packet;
    const Status s = decode_base64_packet(part.substr(2), type, scratch, packet);
    return s == Status::ok ? sink.on_packet(packet) : s;
}

// Reads the "<digits>:" prefix of a v3 text packet at body[pos]; advances pos past ':'.
bool read_text_length(std::string_view body, size_t& pos, uint64_t& value) {
    value = 0;
    size_t digits = 0;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') {
        if (++digits > kMaxLengthDigits) return false;
        value = value * 10 + static_cast<uint64_t>(body[pos] - '0');
        ++pos;
    }
    if (digits == 0 || pos >= body.size() || body[pos] != ':') return false;
    ++pos;
    return true;
}

// Reads "<digit bytes>0xFF" of a v3 binary payload at body[pos]; advances pos past 0xFF.
bool read_binary_length(std::string_view body, size_t& pos, uint64_t& value) {
    value = 0;
    size_t digits = 0;
    for (; pos < body.size(); ++pos) {
        const auto b = static_cast<unsigned char>(body[pos]);
        if (b == kV3LengthEnd) break;
        if (b > 9 || ++digits > kMaxLengthDigits) return false;
        value = value * 10 + b;
    }
    if (digits == 0 || pos >= body.size()) return false;
    ++pos;
    return true;
}

// Lenient UTF-16 length for encoding: invalid bytes count one unit each.
uint64_t utf16_units_lenient(std::string_view s) {
    uint64_t units = 0;
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_sequence(s, i);
        units += (n == 4) ? 2 : 1;
        i += (n == 0) ? 1 : n;
    }
    return units;
}

void append_decimal(std::string& out, uint64_t value) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr);
}

// The v3 binary-payload length header: marker, one byte per decimal digit, 0xFF.
void append_binary_header(std::string& out, bool binary, uint64_t length) {
    out += static_cast<char>(binary ? 1 : 0);
    const size_t start = out.size();
    append_decimal(out, length);
    for (size_t i = start; i < out.size(); ++i) out[i] = static_cast<char>(out[i] - '0');
    out += static_cast<char>(kV3LengthEnd);
}

size_t base64_size(size_t n) { return (n + 2) / 3 * 4; }

} // namespace

Result<EioPacket> engine_io::decode_packet(std::string_view text) {
    EioPacket packet;
    if (text.empty() || !type_from_digit(text[0], packet.type))
        return Result<EioPacket>::fail(Status::malformed, "bad engine.io packet type");
    packet.data = text.substr(1);
    if (!core::utf8_valid(packet.data))
        return Result<EioPacket>::fail(Status::malformed, "engine.io text packet is not UTF-8");
    return packet;
}

Result<EioPacket> decode_v3_binary_frame(std::string_view frame) {
    EioPacket packet;
    if (frame.empty() || !type_from_byte(static_cast<unsigned char>(frame[0]), packet.type))
        return Result<EioPacket>::fail(Status::malformed, "bad engine.io binary packet type");
    packet.binary = true;
    packet.data = frame.substr(1);
    return packet;
}

void encode_packet(std::string& out, EioType type, std::string_view data) {
    out += type_digit(type);
    out += data;
}

Status decode_payload_v4(std::string_view body, PacketSink& sink, std::string& scratch) {
    if (body.empty()) return bad();
    size_t start = 0;
    for (;;) {
        const size_t end = body.find(kSeparatorV4, start);
        const std::string_view part = body.substr(start, end == std::string_view::npos ? end : end - start);
        const Status s = decode_part_v4(part, sink, scratch);
        if (s != Status::ok || end == std::string_view::npos) return s;
        start = end + 1;
    }
}

void append_payload_v4(std::string& out, const EioPacket& packet) {
    if (!out.empty()) out += kSeparatorV4;
    if (!packet.binary) return encode_packet(out, packet.type, packet.data);
    out += 'b';
    core::base64_encode(packet.data, out);
}

Status decode_payload_v3_text(std::string_view body, PacketSink& sink, std::string& scratch) {
    if (body.empty()) return bad();
    size_t pos = 0;
    while (pos < body.size()) {
        uint64_t units = 0;
        size_t bytes = 0;
        if (!read_text_length(body, pos, units)) return bad();
        if (!take_utf16_units(body.substr(pos), units, bytes)) return bad();
        const std::string_view part = body.substr(pos, bytes);
        pos += bytes;
        if (part.empty()) continue; // "0:" is an empty payload in engine.io-parser 2.x
        const Status s = decode_part_v3(part, sink, scratch);
        if (s != Status::ok) return s;
    }
    return Status::ok;
}

void append_payload_v3_text(std::string& out, const EioPacket& packet) {
    if (packet.binary) {
        append_decimal(out, 2 + base64_size(packet.data.size()));
        out += ":b";
        out += type_digit(packet.type);
        core::base64_encode(packet.data, out);
        return;
    }
    append_decimal(out, 1 + utf16_units_lenient(packet.data));
    out += ':';
    encode_packet(out, packet.type, packet.data);
}

Status decode_payload_v3_binary(std::string_view body, PacketSink& sink) {
    if (body.empty()) return bad();
    size_t pos = 0;
    while (pos < body.size()) {
        const auto marker = static_cast<unsigned char>(body[pos++]);
        uint64_t length = 0;
        if (marker > 1 || !read_binary_length(body, pos, length)) return bad();
        if (length == 0 || length > body.size() - pos) return bad();
        const std::string_view part = body.substr(pos, static_cast<size_t>(length));
        pos += static_cast<size_t>(length);
        const Status s = deliver(marker == 0 ? decode_packet(part) : decode_v3_binary_frame(part), sink);
        if (s != Status::ok) return s;
    }
    return Status::ok;
}

void append_payload_v3_binary(std::string& out, const EioPacket& packet) {
    append_binary_header(out, packet.binary, 1 + packet.data.size());
    if (packet.binary) out += static_cast<char>(packet.type);
    else out += type_digit(packet.type);
    out += packet.data;
}

int64_t utf16_length(std::string_view utf8) {
    int64_t units = 0;
    for (size_t i = 0; i < utf8.size();) {
        const size_t n = utf8_sequence(utf8, i);
        if (n == 0) return -1;
        units += (n == 4) ? 2 : 1;
        i += n;
    }
    return units;
}

} // namespace outpost::proto
