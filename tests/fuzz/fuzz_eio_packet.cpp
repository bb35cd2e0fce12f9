// fuzz_eio_packet.cpp - libFuzzer target: Engine.IO single packets (text frames and v3 binary frames).
// Oracle besides the sanitizers: whatever decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/engine.h"

using namespace outpost;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void text_frame(std::string_view in) {
    auto p = proto::decode_packet(in);
    if (!p) {
        check(p.status() == Status::malformed);
        return;
    }
    check(!p->binary && p->data.data() == in.data() + 1 && proto::utf16_length(p->data) >= 0);
    std::string out;
    proto::encode_packet(out, p->type, p->data);
    check(out == in);
}

void v3_binary_frame(std::string_view in) {
    auto p = proto::decode_v3_binary_frame(in);
    if (!p) {
        check(p.status() == Status::malformed);
        return;
    }
    check(p->binary && static_cast<uint8_t>(in[0]) == static_cast<uint8_t>(p->type));
    check(p->data.size() + 1 == in.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    text_frame(in);
    v3_binary_frame(in);
    return 0;
}
