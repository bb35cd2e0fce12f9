// conformance.cpp - Reference behaviour for protocol conformance suites (see conformance.h).
#include "hub/conformance.h"

#include <cjson/cJSON.h>

#include <memory>

namespace outpost::hub {
namespace {

// Rebuilds the argument array without its first element (the event name), or with a new name.
std::string rebuild(const cJSON* args, const char* new_name) {
    std::unique_ptr<cJSON, void (*)(cJSON*)> copy(cJSON_Duplicate(args, true), cJSON_Delete);
    if (!copy) return "[]";
    cJSON_DeleteItemFromArray(copy.get(), 0);
    if (new_name) cJSON_InsertItemInArray(copy.get(), 0, cJSON_CreateString(new_name));
    std::unique_ptr<char, void (*)(void*)> text(cJSON_PrintUnformatted(copy.get()), cJSON_free);
    return text ? std::string(text.get()) : std::string("[]");
}

} // namespace

int ConformanceApp::namespace_index(std::string_view path) const {
    if (path == "/") return 0;
    if (path == "/custom") return 1;
    return -1;
}

std::string_view ConformanceApp::namespace_name(uint8_t index) const { return index == 1 ? "/custom" : "/"; }

void ConformanceApp::on_connect(sio::SocketId s, const sio::ConnectRequest& req) {
    layer_->accept(s);
    std::string payload = req.auth_raw.empty() ? std::string("{}") : std::string(req.auth_raw);
    layer_->emit(s, "[\"auth\"," + payload + "]");
}

void ConformanceApp::on_event(sio::SocketId s, const sio::Event& e) {
    if (s.nsp != 0) return;
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& parts = e.attachments ? *e.attachments : kNone;
    if (e.name == "message") {
        std::string out = rebuild(e.args, "message-back");
        if (parts.empty()) layer_->emit(s, out);
        else layer_->emit_binary(s, out, parts);
    } else if (e.name == "message-with-ack" && e.ack_id >= 0) {
        std::string out = rebuild(e.args, nullptr);
        if (parts.empty()) layer_->ack(s, e.ack_id, out);
        else layer_->ack_binary(s, e.ack_id, out, parts);
    }
}

void EngineEcho::on_message(net::SessionId id, const proto::EioPacket& p) {
    if (p.binary) transport_.send(id, pool::FrameRef::copy_of(p.data, true));
    else transport_.send(id, pool::FrameRef::text_packet('4', p.data));
}

} // namespace outpost::hub
