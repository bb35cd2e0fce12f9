// http_errors.h - Every error answer the transport writes itself, in one table (PROTOCOL.md §1, §10).
// Owns: status, code and message of each refusal, and their JSON bodies. Never: decides when one
// is due (http.cpp, polling.cpp and websocket.cpp do), or answers for the layers above.
#pragma once

#include <cstdint>
#include <string>

namespace outpost::net {

enum class HttpError : uint8_t {
    // Engine.IO errors (HTTP 400 with a numeric code, as the reference server writes them)
    unknown_transport,
    unknown_sid,
    bad_handshake_method,
    bad_request,
    unsupported_version,
    // Engine.IO, other statuses
    poll_too_large, // a polling POST over max_payload (413, code 3)
    // the transport's own refusals (a code name and a message)
    not_found,
    origin_not_allowed,
    rate_limited,
    server_full,
    shutting_down,
    length_required,
    bad_content_length,
    payload_too_large,
    server_busy,
};

struct HttpErrorAnswer {
    int status;
    int eio_code;     // the Engine.IO code (>= 0), or -1 when `code` names the error
    const char* code; // the name, when eio_code is -1
    const char* message;
};

const HttpErrorAnswer& http_error(HttpError e);
// The JSON body: {"code":N,"message":"..."} or {"code":"name","message":"..."}.
std::string http_error_body(HttpError e);

} // namespace outpost::net
