// http_errors.cpp - The table of the transport's error answers (see http_errors.h).
// Owns: their wording. Never: writes to a connection.
#include "net/http_errors.h"

#include <iterator>
#include <string_view>

#include "core/json_writer.h"

namespace outpost::net {
namespace {

// Indexed by HttpError.
constexpr HttpErrorAnswer kAnswers[] = {
    {400, 0, nullptr, "Transport unknown"},
    {400, 1, nullptr, "Session ID unknown"},
    {400, 2, nullptr, "Bad handshake method"},
    {400, 3, nullptr, "Bad request"},
    {400, 5, nullptr, "Unsupported protocol version"},
    {413, 3, nullptr, "Payload too large"},
    {404, -1, "not_found", "no such endpoint"},
    {403, -1, "origin_not_allowed", "Origin is not in cors_origins"},
    {429, -1, "rate_limited", "too many new connections from this address"},
    {503, -1, "server_full", "no free connection slot"},
    {503, -1, "server_full", "server is shutting down"},
    {411, -1, "length_required", "a request body needs Content-Length; chunked bodies are not accepted"},
    {400, -1, "bad_request", "Content-Length: expected a decimal number"},
    {413, -1, "payload_too_large", "request body over max_payload"},
    {503, -1, "server_busy", "too many request bodies in flight; retry later"},
};
static_assert(std::size(kAnswers) == size_t(HttpError::server_busy) + 1, "one answer per HttpError");

} // namespace

const HttpErrorAnswer& http_error(HttpError e) { return kAnswers[size_t(e)]; }

std::string http_error_body(HttpError e) {
    const HttpErrorAnswer& a = http_error(e);
    std::string body;
    core::JsonWriter w(body);
    w.begin_object().key("code");
    if (a.eio_code >= 0) w.number(a.eio_code);
    else w.string(a.code);
    w.member("message", std::string_view(a.message)).end_object();
    return body;
}

} // namespace outpost::net
