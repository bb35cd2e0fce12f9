// service.cpp (posix) - Service hooks for a plain POSIX system: no service manager, stderr log.
// Owns: notify (a no-op), the watchdog interval (none) and the log sink (stderr, one write per
// line). Never: speaks systemd's protocols; platform/linux/service.cpp does, and the two are
// never linked together.
#include "platform/platform.h"
#include "platform/posix/fd_io.h"

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
    (void)posix::write_fully(STDERR_FILENO, out.data(), out.size()); // on failure: nowhere else to report it
    errno = saved;
}

bool log_to_journal() { return false; }

} // namespace outpost::platform
