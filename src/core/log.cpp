// log.cpp - Structured log lines: level filter and "time level event k=v ..." formatting.
// Owns: the current level, the level names and their syslog priorities, line assembly.
// Never: writes anywhere but platform::log_write, or includes an OS header (the time comes
// from platform::wall_ms, the calendar from <chrono>).
#include "core/log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <string>

#include "platform/platform.h"

namespace outpost::core {
namespace {

constexpr size_t kMaxFormatted = 2048; // the "k=v ..." part; longer text is cut and marked "..."

struct LevelInfo {
    std::string_view name;
    int priority; // syslog
};
constexpr LevelInfo kLevels[] = {{"debug", 7}, {"info", 6}, {"warn", 4}, {"error", 3}};

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};

const LevelInfo& level_info(LogLevel level) {
    return kLevels[std::clamp(static_cast<int>(level), 0, 3)];
}

// "2026-11-22T12:00:00.123Z" for milliseconds since the epoch.
void append_timestamp(std::string& out, int64_t epoch_ms) {
    using namespace std::chrono;
    sys_time<milliseconds> t{milliseconds{epoch_ms}};
    sys_days day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> tod{t - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()), static_cast<int>(tod.subseconds().count()));
    out += buf;
}

// Appends text with control bytes escaped as \xNN, so one event is always one line.
void append_clean(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
            continue;
        }
        out += "\\x";
        out += kHex[u >> 4];
        out += kHex[u & 15];
    }
}

} // namespace

void log_set_level(LogLevel level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

bool log_level_from_name(std::string_view name, LogLevel& out) {
    for (size_t i = 0; i < std::size(kLevels); ++i) {
        if (kLevels[i].name == name) {
            out = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

void logf(LogLevel level, const char* event, const char* fmt, ...) {
    if (!log_enabled(level)) return;
    const LevelInfo& info = level_info(level);
    std::string line;
    line.reserve(160);
    if (!platform::log_to_journal()) { // journald stamps lines itself
        append_timestamp(line, platform::wall_ms());
        line += ' ';
    }
    line += info.name;
    line += ' ';
    append_clean(line, event ? event : "-");
    char buf[kMaxFormatted];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt ? std::vsnprintf(buf, sizeof buf, fmt, ap) : 0;
    va_end(ap);
    if (n > 0) {
        line += ' ';
        append_clean(line, std::string_view(buf, std::min(static_cast<size_t>(n), sizeof buf - 1)));
        if (static_cast<size_t>(n) >= sizeof buf) line += "...";
    }
    platform::log_write(info.priority, line);
}

} // namespace outpost::core
