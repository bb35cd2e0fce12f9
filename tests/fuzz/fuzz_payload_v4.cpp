// fuzz_payload_v4.cpp - libFuzzer target: Engine.IO v4 polling payloads ('\x1e'-separated, 'b' + base64).
// Oracle besides the sanitizers: a payload that decodes re-encodes to exactly the same body.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/engine.h"

using namespace outpost;

namespace {

// Re-encodes every packet it receives.
class Reencode final : public proto::PacketSink {
public:
    std::string out;
    Status on_packet(const proto::EioPacket& p) override {
        if (p.binary && p.type != proto::EioType::message) std::abort();
        proto::append_payload_v4(out, p);
        return Status::ok;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    Reencode sink;
    std::string scratch;
    const Status s = proto::decode_payload_v4(in, sink, scratch);
    if (s == Status::ok && sink.out != in) std::abort();
    if (s != Status::ok && s != Status::malformed) std::abort();
    return 0;
}
