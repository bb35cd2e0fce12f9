// http_errors_test.cpp - The transport's error answers keep their status and exact bytes.
#include "net/http_errors.h"

#include <gtest/gtest.h>

#include <string>

namespace outpost::net {
namespace {

void expect(HttpError e, int status, const std::string& body) {
    EXPECT_EQ(http_error(e).status, status);
    EXPECT_EQ(http_error_body(e), body);
}

TEST(HttpErrors, EngineIoAnswers) {
    expect(HttpError::unknown_transport, 400, R"({"code":0,"message":"Transport unknown"})");
    expect(HttpError::unknown_sid, 400, R"({"code":1,"message":"Session ID unknown"})");
    expect(HttpError::bad_handshake_method, 400, R"({"code":2,"message":"Bad handshake method"})");
    expect(HttpError::bad_request, 400, R"({"code":3,"message":"Bad request"})");
    expect(HttpError::unsupported_version, 400, R"({"code":5,"message":"Unsupported protocol version"})");
    expect(HttpError::poll_too_large, 413, R"({"code":3,"message":"Payload too large"})");
}

TEST(HttpErrors, TransportAnswers) {
    expect(HttpError::not_found, 404, R"({"code":"not_found","message":"no such endpoint"})");
    expect(HttpError::origin_not_allowed, 403, R"({"code":"origin_not_allowed","message":"Origin is not in cors_origins"})");
    expect(HttpError::rate_limited, 429, R"({"code":"rate_limited","message":"too many new connections from this address"})");
    expect(HttpError::server_full, 503, R"({"code":"server_full","message":"no free connection slot"})");
    expect(HttpError::shutting_down, 503, R"({"code":"server_full","message":"server is shutting down"})");
    expect(HttpError::length_required, 411,
           R"({"code":"length_required","message":"a request body needs Content-Length; chunked bodies are not accepted"})");
    expect(HttpError::bad_content_length, 400, R"({"code":"bad_request","message":"Content-Length: expected a decimal number"})");
    expect(HttpError::payload_too_large, 413, R"({"code":"payload_too_large","message":"request body over max_payload"})");
    expect(HttpError::server_busy, 503, R"({"code":"server_busy","message":"too many request bodies in flight; retry later"})");
}

} // namespace
} // namespace outpost::net
