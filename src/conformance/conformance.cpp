// conformance.cpp - Reference behaviour for protocol conformance suites (see conformance.h).
#include "conformance/conformance.h"

#include <string>
#include <string_view>

#include "core/json_writer.h"

namespace outpost::hub {
namespace {

// What follows the first element (the event name) of a JSON array the Socket.IO layer has already
// parsed, so its first element is a string: "" for ["x"], ",1,2]" for ["x",1,2].
std::string_view after_name(std::string_view raw) {
    size_t i = raw.find('"');
    if (i == std::string_view::npos) return {};
    for (++i; i < raw.size() && raw[i] != '"'; ++i)
        if (raw[i] == '\\') ++i; // an escape: skip the escaped character
    if (i >= raw.size()) return {};
    std::string_view rest = raw.substr(i + 1);
    size_t j = rest.find_first_not_of(" \t\r\n");
    return j == std::string_view::npos || rest[j] == ']' ? std::string_view{} : rest.substr(j);
}

// The argument array from the received text, with the event name dropped or replaced by
// `new_name`; no JSON printing, and no allocation once `out` has grown.
void rebuild(std::string& out, std::string_view raw, std::string_view new_name) {
    std::string_view rest = after_name(raw); // ",arg,...]" or empty
    out.clear();
    out.push_back('[');
    if (!new_name.empty()) {
        out.push_back('"');
        out.append(new_name);
        out.push_back('"');
        if (rest.empty()) out.push_back(']');
        else out.append(rest);
    } else {
        if (rest.empty()) out.push_back(']');
        else out.append(rest.substr(1));
    }
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
    std::string args;
    core::JsonWriter(args).begin_array().string("auth").raw(req.auth_raw.empty() ? std::string_view("{}") : req.auth_raw).end_array();
    layer_->emit(s, args);
}

void ConformanceApp::on_event(sio::SocketId s, const sio::Event& e) {
    if (s.nsp != 0) return;
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& parts = e.attachments ? *e.attachments : kNone;
    if (e.name == "message") {
        rebuild(scratch_, e.raw, "message-back");
        if (parts.empty()) layer_->emit(s, scratch_);
        else layer_->emit_binary(s, scratch_, parts);
    } else if (e.name == "message-with-ack" && e.ack_id >= 0) {
        rebuild(scratch_, e.raw, {});
        if (parts.empty()) layer_->ack(s, e.ack_id, scratch_);
        else layer_->ack_binary(s, e.ack_id, scratch_, parts);
    }
}

void EngineEcho::on_message(net::SessionId id, const proto::EioPacket& p) {
    if (p.binary) transport_.send(id, pool::FrameRef::copy_of(p.data, true));
    else transport_.send(id, pool::FrameRef::text_packet('4', p.data));
}

} // namespace outpost::hub
