// platform.h - Everything Outpost needs from the operating system, behind one small API.
// Owns: clocks, randomness, signals, service notification, log sink, fd limits, memory mapped on
// demand, socket peer state, files (with the file syscall table tests override to inject storage faults).
// One implementation per folder (posix/ for any POSIX system, linux/ adds systemd and Linux
// specifics); src/ calls only this header and never includes an OS header itself.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace outpost::platform {

// ---- Clocks
int64_t monotonic_ms();  // never goes backwards; arbitrary origin
int64_t monotonic_us();
int64_t wall_ms();       // milliseconds since the Unix epoch (may be wrong on an RTC-less board)

// ---- Randomness from the kernel (getrandom / /dev/urandom). False if none could be read.
bool random_bytes(void* out, size_t len);

// ---- Signals. The handlers only set flags and call the wake function (which must be
// async-signal-safe, e.g. a write to a pipe); the event loop polls the flags.
enum class Signal : uint8_t { none = 0, terminate, interrupt, reload };
using WakeFn = void (*)();
void install_signal_handlers(WakeFn wake);
// Returns and clears the oldest pending signal (terminate before reload).
Signal take_signal();

// ---- Service manager (systemd notify protocol where available; no-ops elsewhere).
void notify(std::string_view state); // e.g. "READY=1", "STOPPING=1", "STATUS=..."
// Interval at which WATCHDOG=1 must be sent, 0 when no watchdog is requested.
int64_t watchdog_interval_ms();

// ---- Log sink: one complete line (no trailing newline) at a syslog-style priority 0..7.
void log_write(int priority, std::string_view line);
// True when stderr is connected to journald ($JOURNAL_STREAM matches): no timestamps of our own.
bool log_to_journal();

// ---- Resources
// Raises the open-file limit to at least `wanted` if the hard limit allows; returns the limit
// now in force (soft), or -1 when it cannot be read.
int64_t raise_fd_limit(int64_t wanted);

// ---- Memory for fixed-capacity tables
// Zero-filled memory whose address space is reserved now and whose pages the system commits
// only when they are first written: a table sized for max_connections at start costs resident
// memory for the slots in use, not for its capacity. Page-aligned; null when it cannot be had
// (or `bytes` is 0). Give back with unmap_zeroed and the same `bytes`.
void* map_zeroed(size_t bytes);
void unmap_zeroed(void* p, size_t bytes);
// Bytes of [p, p + bytes) resident in memory now (p from map_zeroed); -1 where the system cannot
// tell. For tests and footprint figures.
int64_t resident_bytes(const void* p, size_t bytes);

// ---- Sockets
// What the kernel knows of a connected TCP socket's peer, without reading from it: `open`;
// `closed` (it sent FIN: nothing more will come); `reset` (it reset the connection, which a peer
// does when it closes with our data unread, or when our data reaches it after it closed);
// `unknown` where the system cannot tell. Linux reads the TCP state (TCP_INFO); elsewhere a
// non-blocking MSG_PEEK tells open from closed, and a reset only until a read has reported it.
enum class PeerState : uint8_t { open, closed, reset, unknown };
PeerState peer_state(int fd);

// ---- Files (for key material, config and data_dir housekeeping).
bool read_file(const std::string& path, std::string& out, size_t max_bytes);
// Writes atomically (temp file + rename) with the given mode, e.g. 0600.
bool write_file_atomic(const std::string& path, std::string_view data, unsigned mode);
bool make_dirs(const std::string& path, unsigned mode);
bool file_exists(const std::string& path);
std::string last_error(); // strerror(errno) of the last failed call, for log lines

// Which file a path names right now (device and inode), to notice a file deleted or replaced
// while it is held open. False when the path names nothing (or cannot be examined).
struct FileId {
    uint64_t dev = 0, ino = 0;
    bool operator==(const FileId&) const = default;
};
bool file_id(const std::string& path, FileId& out);

// A small append-only record file kept open (the store's acked-seq marks). append_open returns
// a handle >= 0 or -1; append_write writes all of `data` and, when `sync`, waits for the disk.
int append_open(const std::string& path, unsigned mode);
bool append_write(int handle, std::string_view data, bool sync);
void append_close(int handle);

// The system calls under write_file_atomic and the append-only record file, in a table that tests
// override to inject storage faults (ENOSPC, EIO, EROFS) without root, as SQLite's os_unix.c does
// with its syscall table. Each answers like the POSIX call: -1 with errno set on failure.
struct FileSyscalls {
    using WriteFn = long (*)(int fd, const void* data, size_t len);
    using SyncFn = int (*)(int fd); // fdatasync where the system has it, fsync elsewhere
    std::atomic<WriteFn> write;
    std::atomic<SyncFn> sync;
};
FileSyscalls& file_syscalls();
void file_syscalls_reset(); // back to the real calls

std::string getenv_str(const char* name); // empty when unset

// "linux" or "posix": which backend this build uses (for logs and tests).
const char* backend_name();

} // namespace outpost::platform
