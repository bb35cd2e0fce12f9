// fuzz_cluster_msgpack.cpp - libFuzzer target: cluster/msgpack's bounded decoder and the
// redis-adapter messages read from it (cluster/adapter_wire). Oracles: a decoded value
// re-encodes to bytes that decode again and re-encode to the same bytes; a decoded broadcast,
// request or answer re-encodes to bytes that decode again (with the same ids when they are valid
// UTF-8: JSON carries invalid UTF-8 as U+FFFD, as Node's Buffer.toString does); a failure
// always says why.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/adapter_wire.h"
#include "cluster/msgpack.h"
#include "core/utf8.h"

using namespace outpost::cluster;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    msgpack::Limits limits;
    limits.max_depth = 16;
    limits.max_elements = 2000;
    limits.max_bytes = 4096;

    auto r = msgpack::decode(bytes, limits);
    if (r.ok) {
        const std::string once = msgpack::encode(r.value);
        auto again = msgpack::decode(once, msgpack::Limits{16, 2000, 1u << 20});
        check(again.ok);
        check(msgpack::encode(again.value) == once);
        std::string json, error;
        if (wire::value_to_json(r.value, json, error)) {
            msgpack::Value back;
            (void)wire::json_to_value(json, msgpack::Limits{17, 4000, 1u << 20}, back, error);
        } else {
            check(!error.empty());
        }
    } else {
        check(!r.error.empty());
    }

    std::string error, out;
    wire::Broadcast b;
    if (wire::decode_broadcast(bytes, limits, b, error)) {
        wire::Broadcast b2;
        check(wire::decode_broadcast(wire::encode_broadcast(b), msgpack::Limits{16, 4000, 1u << 20}, b2, error));
        check(b2.uid == b.uid && b2.opts.rooms == b.opts.rooms && b2.packet.nsp == b.packet.nsp);
    } else {
        check(!error.empty());
    }
    wire::Request req;
    error.clear();
    if (wire::decode_request(bytes, limits, req, error)) {
        if (wire::encode_request(req, out, error)) {
            wire::Request req2;
            check(wire::decode_request(out, msgpack::Limits{17, 4000, 1u << 20}, req2, error));
            check(req2.type == req.type);
            check(req2.uid == req.uid || !outpost::core::utf8_valid(req.uid));
        }
    } else {
        check(!error.empty());
    }
    wire::Response resp;
    error.clear();
    if (wire::decode_response(bytes, limits, wire::RequestType::remote_fetch, resp, error)) {
        if (wire::encode_response(resp, out, error)) {
            wire::Response resp2;
            check(wire::decode_response(out, msgpack::Limits{17, 4000, 1u << 20}, resp.answers, resp2, error));
            check(resp2.request_id == resp.request_id || !outpost::core::utf8_valid(resp.request_id));
            check(resp2.sockets.size() == resp.sockets.size());
        }
    } else {
        check(!error.empty());
    }
    return 0;
}
