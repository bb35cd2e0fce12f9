// common.cpp - The POSIX half of platform.h, shared by every backend (linux/, posix/).
// Owns: clocks, kernel randomness, signal flags, the fd limit, files, the environment and
// the last error. Never: uses a glibc-only call without a fallback (it must build on musl
// and the BSDs); service notification and the log sink live in each backend's service.cpp.
#include "platform/posix/abi64.h" // first: before any system header

#include "platform/platform.h"
#include "platform/posix/fd_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__linux__) && __has_include(<sys/random.h>)
#include <sys/random.h>
#define OUTPOST_HAVE_GETRANDOM 1
#endif

// LeakSanitizer scans globals, stacks and the heap for pointers, not anonymous mappings: a
// string owned by a slot in one of these blocks would look leaked while the slot holds it
// (libFuzzer's per-input leak check reported exactly that). Under a sanitizer the mapping is
// registered as a root region, so what it points to counts as reachable.
#if defined(__SANITIZE_ADDRESS__)
#define OUTPOST_LSAN_ROOTS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define OUTPOST_LSAN_ROOTS 1
#endif
#endif
#if OUTPOST_LSAN_ROOTS
#include <sanitizer/lsan_interface.h>
#endif

namespace outpost::platform {

// 32-bit targets: abi64.h must have taken effect (a glibc older than 2.34 ignores _TIME_BITS).
static_assert(sizeof(time_t) >= 8, "time_t must be 64 bits (32-bit glibc: 2.34 or later, _TIME_BITS=64)");
static_assert(sizeof(off_t) >= 8, "off_t must be 64 bits (_FILE_OFFSET_BITS=64)");

namespace {

thread_local int g_last_errno = 0;

// Records errno for last_error() and returns false, so failures read `return failed();`.
bool failed() {
    g_last_errno = errno;
    return false;
}

int64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Closes a descriptor on scope exit without disturbing errno.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    bool reset() {
        int fd = fd_;
        fd_ = -1;
        if (fd < 0) return true;
        int saved = errno;
        bool ok = close(fd) == 0;
        if (ok) errno = saved;
        return ok;
    }

private:
    int fd_;
};

bool read_fully(int fd, void* out, size_t len) {
    auto* p = static_cast<unsigned char*>(out);
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = EIO; // the source ran dry
        if (n <= 0) return false;
        p += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

long real_write(int fd, const void* data, size_t len) { return static_cast<long>(::write(fd, data, len)); }

int real_sync(int fd) {
#if defined(__linux__)
    return fdatasync(fd);
#else
    return fsync(fd);
#endif
}

FileSyscalls g_file_syscalls{{real_write}, {real_sync}};

int file_sync(int fd) { return g_file_syscalls.sync.load()(fd); }

// The one EINTR-retrying write loop: through `write_fn` (::write for the log sinks, the syscall
// table's entry for the files tests inject faults into).
bool write_with(FileSyscalls::WriteFn write_fn, int fd, const char* p, size_t len) {
    while (len > 0) {
        long n = write_fn(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool write_fully(int fd, const char* p, size_t len) { return write_with(g_file_syscalls.write.load(), fd, p, len); }

bool urandom_bytes(void* out, size_t len) {
    Fd fd(open("/dev/urandom", O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return failed();
    return read_fully(fd.get(), out, len) || failed();
}

// ---- Signals: the handler only stores a flag and calls the wake function.

std::atomic<bool> g_terminate{false};
std::atomic<bool> g_interrupt{false};
std::atomic<bool> g_reload{false};
std::atomic<WakeFn> g_wake{nullptr};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<WakeFn>::is_always_lock_free,
              "signal flags must be lock-free to be async-signal-safe");

extern "C" void on_signal(int signo) {
    int saved = errno;
    if (signo == SIGTERM) g_terminate.store(true);
    if (signo == SIGINT) g_interrupt.store(true);
    if (signo == SIGHUP) g_reload.store(true);
    if (WakeFn wake = g_wake.load()) wake();
    errno = saved;
}

void set_handler(int signo, void (*handler)(int)) {
    struct sigaction sa{};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(signo, &sa, nullptr);
}

// ---- strerror_r comes in two flavours (XSI returns int, GNU returns char*); accept either.
[[maybe_unused]] std::string from_strerror_r(int rc, const char* buf) {
    return rc == 0 ? std::string(buf) : std::string("unknown error");
}
[[maybe_unused]] std::string from_strerror_r(const char* msg, const char*) { return msg ? msg : "unknown error"; }

bool make_one_dir(const std::string& path, unsigned mode) {
    if (mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) return true;
    if (errno != EEXIST) return failed();
    struct stat st{};
    if (stat(path.c_str(), &st) != 0) return failed();
    if (S_ISDIR(st.st_mode)) return true;
    errno = ENOTDIR;
    return failed();
}

std::string parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Makes a rename durable: fsync the directory entry (best effort, some filesystems refuse).
void sync_dir(const std::string& dir) {
    Fd fd(open(dir.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY));
    if (fd.get() >= 0) (void)fsync(fd.get());
}

bool write_temp(const std::string& tmp, std::string_view data, unsigned mode) {
    unlink(tmp.c_str()); // a leftover of a crashed run with the same pid
    Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode)));
    if (fd.get() < 0) return failed();
    if (fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return failed();
    if (!write_fully(fd.get(), data.data(), data.size())) return failed();
    if (file_sync(fd.get()) != 0) return failed();
    return fd.reset() || failed();
}

} // namespace

bool posix::write_fully(int fd, const char* p, size_t len) { return write_with(real_write, fd, p, len); }

// ---- Clocks

int64_t monotonic_ms() { return clock_ns(CLOCK_MONOTONIC) / 1000000; }
int64_t monotonic_us() { return clock_ns(CLOCK_MONOTONIC) / 1000; }
int64_t wall_ms() { return clock_ns(CLOCK_REALTIME) / 1000000; }

// ---- Randomness

bool random_bytes(void* out, size_t len) {
#ifdef OUTPOST_HAVE_GETRANDOM
    auto* p = static_cast<unsigned char*>(out);
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == ENOSYS || errno == EPERM)) return urandom_bytes(p, len); // old kernel, seccomp
        if (n <= 0) return failed();
        p += n;
        len -= static_cast<size_t>(n);
    }
    return true;
#else
    return urandom_bytes(out, len);
#endif
}

// ---- Signals

void install_signal_handlers(WakeFn wake) {
    g_wake.store(wake);
    set_handler(SIGTERM, on_signal);
    set_handler(SIGINT, on_signal);
    set_handler(SIGHUP, on_signal);
    set_handler(SIGPIPE, SIG_IGN); // a closed peer is an error return, not a death
}

Signal take_signal() {
    if (g_terminate.exchange(false)) return Signal::terminate;
    if (g_interrupt.exchange(false)) return Signal::interrupt;
    if (g_reload.exchange(false)) return Signal::reload;
    return Signal::none;
}

// ---- Resources

int64_t raise_fd_limit(int64_t wanted) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        (void)failed();
        return -1;
    }
    auto as_int = [](rlim_t v) { return v == RLIM_INFINITY || uint64_t(v) > uint64_t(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v); };
    if (wanted <= as_int(rl.rlim_cur)) return as_int(rl.rlim_cur);
    rlim_t target = static_cast<rlim_t>(wanted);
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max) target = rl.rlim_max;
    rlimit raised = rl;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        (void)failed();
        return as_int(rl.rlim_cur);
    }
    return as_int(target);
}

// ---- Memory for fixed-capacity tables

void* map_zeroed(size_t bytes) {
    if (bytes == 0) return nullptr;
    // A private anonymous mapping: the kernel hands out zero pages as they are first written.
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        (void)failed();
        return nullptr;
    }
#if defined(MADV_NOHUGEPAGE)
    // Where transparent huge pages are "always", the first write to a slot would commit 2 MiB
    // around it; small pages keep the cost of a slot near its size.
    (void)madvise(p, bytes, MADV_NOHUGEPAGE);
#endif
#if OUTPOST_LSAN_ROOTS
    __lsan_register_root_region(p, bytes);
#endif
    return p;
}

void unmap_zeroed(void* p, size_t bytes) {
    if (!p) return;
#if OUTPOST_LSAN_ROOTS
    __lsan_unregister_root_region(p, bytes);
#endif
    munmap(p, bytes);
}

namespace {
// mincore() takes `void*` and `unsigned char*` on Linux, `const void*` and `char*` on the BSDs.
template <class Addr, class Vec>
int call_mincore(int (*fn)(Addr, size_t, Vec*), const void* p, size_t len, unsigned char* vec) {
    return fn((Addr)(const_cast<void*>(p)), len, reinterpret_cast<Vec*>(vec));
}
} // namespace

int64_t resident_bytes(const void* p, size_t bytes) {
    long page = sysconf(_SC_PAGESIZE);
    if (!p || page <= 0) return -1;
    size_t pages = (bytes + size_t(page) - 1) / size_t(page);
    std::vector<unsigned char> vec(pages);
    if (call_mincore(&mincore, p, pages * size_t(page), vec.data()) != 0) {
        (void)failed();
        return -1;
    }
    int64_t resident = 0;
    for (unsigned char v : vec) resident += (v & 1) ? page : 0;
    return resident;
}

// ---- Files

bool read_file(const std::string& path, std::string& out, size_t max_bytes) {
    out.clear();
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return failed();
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failed();
        if (n == 0) return true;
        if (out.size() + static_cast<size_t>(n) > max_bytes) {
            out.clear();
            errno = EFBIG;
            return failed();
        }
        out.append(buf, static_cast<size_t>(n));
    }
}

bool write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
    static std::atomic<unsigned> counter{0};
    std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
    if (!write_temp(tmp, data, mode) || rename(tmp.c_str(), path.c_str()) != 0) {
        (void)failed();
        unlink(tmp.c_str());
        return false;
    }
    sync_dir(parent_dir(path));
    return true;
}

bool make_dirs(const std::string& path, unsigned mode) {
    if (path.empty()) {
        errno = ENOENT;
        return failed();
    }
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        if (path[slash - 1] == '/') continue; // "a//b"
        if (!make_one_dir(path.substr(0, slash), mode)) return false;
    }
    return path.back() == '/' || make_one_dir(path, mode);
}

bool file_exists(const std::string& path) {
    struct stat st{};
    return stat(path.c_str(), &st) == 0;
}

bool file_id(const std::string& path, FileId& out) {
    struct stat st{};
    if (stat(path.c_str(), &st) != 0) return failed();
    out.dev = static_cast<uint64_t>(st.st_dev);
    out.ino = static_cast<uint64_t>(st.st_ino);
    return true;
}

int append_open(const std::string& path, unsigned mode) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) (void)failed();
    return fd;
}

bool append_write(int handle, std::string_view data, bool sync) {
    if (!write_fully(handle, data.data(), data.size())) return failed();
    if (sync && file_sync(handle) != 0) return failed();
    return true;
}

void append_close(int handle) {
    if (handle >= 0) close(handle);
}

std::string last_error() {
    char buf[256] = {0};
    return from_strerror_r(strerror_r(g_last_errno, buf, sizeof buf), buf);
}

FileSyscalls& file_syscalls() { return g_file_syscalls; }

void file_syscalls_reset() {
    g_file_syscalls.write = real_write;
    g_file_syscalls.sync = real_sync;
}

std::string getenv_str(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

} // namespace outpost::platform
