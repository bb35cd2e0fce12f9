// service.cpp (linux) - Service hooks for systemd: sd_notify protocol, watchdog, journald.
// Owns: datagrams to $NOTIFY_SOCKET (path or '@' abstract address), the watchdog interval from
// $WATCHDOG_USEC/$WATCHDOG_PID, and the stderr log sink with "<N>" priority prefixes when
// stderr is the journal ($JOURNAL_STREAM). Never: links libsystemd, or blocks on the manager.
#include "platform/posix/abi64.h" // first: fstat() of stderr answers for 64-bit inode numbers

#include "platform/platform.h"
#include "platform/posix/fd_io.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>

namespace outpost::platform {
namespace {

// Whole-string unsigned decimal; false on anything else (sign, spaces, overflow).
template <class T>
bool parse_decimal(std::string_view s, T& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// Fills a sockaddr_un from "/path" or "@abstract"; false for anything else or too long.
bool notify_address(const std::string& where, sockaddr_un& addr, socklen_t& len) {
    if (where.empty() || (where[0] != '/' && where[0] != '@')) return false;
    bool abstract = where[0] == '@';
    if (where.size() + (abstract ? 0 : 1) > sizeof(addr.sun_path)) return false;
    addr = sockaddr_un{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, where.data(), where.size());
    if (abstract) addr.sun_path[0] = '\0';
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + where.size() + (abstract ? 0 : 1));
    return true;
}

void write_stderr(std::string_view text) {
    (void)posix::write_fully(STDERR_FILENO, text.data(), text.size()); // on failure: nowhere else to report it
}

} // namespace

// Which backend this is; not in platform.h, tests use it to know what to expect.
const char* backend_name() { return "linux"; }

void notify(std::string_view state) {
    int saved = errno;
    sockaddr_un addr{};
    socklen_t len = 0;
    if (notify_address(getenv_str("NOTIFY_SOCKET"), addr, len)) {
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            (void)sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
            close(fd);
        }
    }
    errno = saved;
}

int64_t watchdog_interval_ms() {
    uint64_t usec = 0;
    if (!parse_decimal(getenv_str("WATCHDOG_USEC"), usec) || usec == 0) return 0;
    std::string pid_text = getenv_str("WATCHDOG_PID");
    if (!pid_text.empty()) {
        int64_t pid = 0;
        if (!parse_decimal(pid_text, pid) || pid != static_cast<int64_t>(getpid())) return 0;
    }
    usec = std::min<uint64_t>(usec, INT64_MAX);
    return std::max<int64_t>(1, static_cast<int64_t>(usec / 2 / 1000));
}

void log_write(int priority, std::string_view line) {
    int saved = errno; // logging must not disturb the caller's error handling
    std::string out;
    out.reserve(line.size() + 4);
    if (log_to_journal()) {
        out += '<';
        out += static_cast<char>('0' + std::clamp(priority, 0, 7));
        out += '>';
    }
    out.append(line);
    out += '\n';
    write_stderr(out);
    errno = saved;
}

bool log_to_journal() {
    std::string stream = getenv_str("JOURNAL_STREAM");
    size_t colon = stream.find(':');
    if (colon == std::string::npos) return false;
    uint64_t dev = 0;
    uint64_t ino = 0;
    if (!parse_decimal(std::string_view(stream).substr(0, colon), dev) ||
        !parse_decimal(std::string_view(stream).substr(colon + 1), ino))
        return false;
    struct stat st{};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino;
}

} // namespace outpost::platform
