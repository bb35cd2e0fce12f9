// fuzz_payload_v3.cpp - libFuzzer target: Engine.IO v3 polling payloads, text ("<len>:<packet>") and
// binary (marker, length digit bytes, 0xFF). Oracle besides the sanitizers: decoded packets
// re-encode to a payload that decodes to the same packets.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/engine.h"

using namespace outpost;

namespace {

struct Copy {
    proto::EioType type;
    bool binary;
    std::string data;
    bool operator==(const Copy&) const = default;
};

class Collect final : public proto::PacketSink {
public:
    std::vector<Copy> packets;
    Status on_packet(const proto::EioPacket& p) override {
        packets.push_back({p.type, p.binary, std::string(p.data)});
        return Status::ok;
    }
};

using Append = void (*)(std::string&, const proto::EioPacket&);

// Decodes `in` with `decode`; when it succeeds, re-encodes with `append` and decodes again.
template <class Decode>
void round_trip(std::string_view in, Decode decode, Append append) {
    Collect first;
    const Status s = decode(in, first);
    if (s != Status::ok) {
        if (s != Status::malformed) std::abort();
        return;
    }
    std::string body;
    for (const auto& c : first.packets) append(body, proto::EioPacket{c.type, c.binary, c.data});
    if (first.packets.empty()) return;
    Collect second;
    if (decode(body, second) != Status::ok || second.packets != first.packets) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string scratch;
    round_trip(
        in, [&](std::string_view b, Collect& c) { return proto::decode_payload_v3_text(b, c, scratch); },
        proto::append_payload_v3_text);
    round_trip(
        in, [](std::string_view b, Collect& c) { return proto::decode_payload_v3_binary(b, c); },
        proto::append_payload_v3_binary);
    return 0;
}
