// service.cpp (posix) - Service hooks for a plain POSIX system: no service manager, stderr log.
// Owns: notify (a no-op), the watchdog interval (none) and the log sink (stderr, one write per
// line). Never: speaks systemd's protocols; platform/linux/service.cpp does, and the two are
// never linked together.
#include "platform/platform.h"

#include <unistd.h>

#include <cerrno>

namespace outpost::platform {

// Which backend this is; not in platform.h, tests use it to know what to expect.
const char* backend_name() { return "posix"; }

void notify(std::string_view) {}

int64_t watchdog_interval_ms() { return 0; }

void log_write(int, std::string_view line) {
    int saved = errno; // logging must not disturb the caller's error handling
    std::string out;
    out.reserve(line.size() + 1);
    out.append(line);
    out += '\n';
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // nowhere else to report it
        p += n;
        left -= static_cast<size_t>(n);
    }
    errno = saved;
}

bool log_to_journal() { return false; }

} // namespace outpost::platform
