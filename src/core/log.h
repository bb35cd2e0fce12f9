// log.h - Structured logging: one line per event, "event key=value ...".
// Owns: level filtering and line formatting. Never: writes anywhere but platform::log_write,
// never logs message bodies or tokens (callers must not pass them).
#pragma once

#include <string_view>

namespace outpost::core {

enum class LogLevel : int { debug = 0, info = 1, warn = 2, error = 3 };

void log_set_level(LogLevel level);
bool log_enabled(LogLevel level);
// Parses "debug" | "info" | "warn" | "error"; false when unknown.
bool log_level_from_name(std::string_view name, LogLevel& out);

// logf(LogLevel::info, "listening", "host=%s port=%d", host, port)
// -> "2026-11-22T12:00:00.123Z info listening host=0.0.0.0 port=3000"
void logf(LogLevel level, const char* event, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

} // namespace outpost::core

#define OUTPOST_LOG(level, event, ...) \
    do { \
        if (::outpost::core::log_enabled(::outpost::core::LogLevel::level)) \
            ::outpost::core::logf(::outpost::core::LogLevel::level, event, __VA_ARGS__); \
    } while (0)
