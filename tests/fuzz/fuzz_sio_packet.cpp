// fuzz_sio_packet.cpp - libFuzzer target: Socket.IO packets, then (binary types) cJSON and placeholder
// checks, and the namespace query helpers. Oracle: decoded packets re-encode to equal packets.
#include <cjson/cJSON.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "proto/sio.h"

using namespace outpost;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void round_trip(const proto::SioPacket& p) {
    std::string out;
    proto::encode_packet(out, p);
    auto q = proto::decode_packet(out);
    check(q.ok() && q->type == p.type && q->nsp == p.nsp && q->id == p.id && q->attachments == p.attachments &&
          q->data == p.data);
}

void placeholders(const proto::SioPacket& p) {
    if (p.attachments == 0 || p.data.empty()) return;
    std::unique_ptr<cJSON, void (*)(cJSON*)> root(cJSON_ParseWithLength(p.data.data(), p.data.size()),
                                                  cJSON_Delete);
    if (!root) return;
    const Status s = proto::check_placeholders(root.get(), p.attachments);
    check(s == Status::ok || s == Status::malformed);
}

void query(std::string_view nsp) {
    std::string_view path, q;
    proto::split_nsp(nsp, path, q);
    std::string value;
    if (proto::query_param(q, "token", value)) check(value.size() <= q.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto p = proto::decode_packet(in);
    if (!p) {
        check(p.status() == Status::malformed || p.status() == Status::too_large);
        return 0;
    }
    check(p->attachments <= proto::kMaxAttachments && p->id <= proto::kMaxAckId);
    round_trip(*p);
    placeholders(*p);
    query(p->nsp);
    return 0;
}
