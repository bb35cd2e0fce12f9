// status.h - Status codes and Result<T>: the one error vocabulary of Outpost.
// Owns: the Status enum and its names. Never: knows wire formats or lws return values
// (the mappings live in the layers that speak those, once each).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace outpost {

enum class [[nodiscard]] Status : uint8_t {
    ok = 0,
    malformed,        // input cannot be decoded
    invalid_argument, // decoded, but a value is out of range or of the wrong type
    too_large,        // over a configured size limit
    not_found,
    full,             // a fixed pool or queue has no room
    forbidden,
    unavailable,      // a dependency (storage, clock) cannot serve now
    io_error,
    internal,
};

constexpr std::string_view status_name(Status s) {
    switch (s) {
    case Status::ok: return "ok";
    case Status::malformed: return "malformed";
    case Status::invalid_argument: return "invalid_argument";
    case Status::too_large: return "too_large";
    case Status::not_found: return "not_found";
    case Status::full: return "full";
    case Status::forbidden: return "forbidden";
    case Status::unavailable: return "unavailable";
    case Status::io_error: return "io_error";
    case Status::internal: return "internal";
    }
    return "unknown";
}

// An error: a status plus a human message that names what was wrong.
struct Error {
    Status status = Status::internal;
    std::string message;
};

// Result<T>: either a value or an Error. Small on purpose: value(), error(), ok().
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}
    static Result fail(Status s, std::string message) { return Result(Error{s, std::move(message)}); }

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }
    Status status() const { return ok() ? Status::ok : error().status; }

private:
    std::variant<T, Error> v_;
};

} // namespace outpost
