// platform_test.cpp - Unit tests for the platform layer (platform/platform.h).
// Owns: checks of clocks, randomness, signals, fd limits, memory mapped on demand, files, the environment, and of the
// linux backend's systemd notify protocol, watchdog interval and journald detection.
#include "platform/platform.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

namespace outpost::platform {
const char* backend_name(); // defined by each backend's service.cpp, for tests; not in platform.h
}

namespace outpost::platform {
namespace {

namespace fs = std::filesystem;

bool linux_backend() { return std::string_view(backend_name()) == "linux"; }

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "outpost-platform-XXXXXX").string();
        path_ = mkdtemp(pattern.data()) ? pattern : std::string();
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Points stderr at an unlinked temp file for one scope; the text and the file's identity
// (as systemd would put it in $JOURNAL_STREAM) can be read back.
class StderrCapture {
public:
    StderrCapture() {
        std::string pattern = (fs::temp_directory_path() / "outpost-stderr-XXXXXX").string();
        fd_ = mkstemp(pattern.data());
        if (fd_ < 0) return;
        unlink(pattern.c_str());
        saved_ = dup(STDERR_FILENO);
        if (saved_ >= 0) dup2(fd_, STDERR_FILENO);
    }
    ~StderrCapture() {
        if (saved_ >= 0) {
            dup2(saved_, STDERR_FILENO);
            close(saved_);
        }
        if (fd_ >= 0) close(fd_);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    bool active() const { return fd_ >= 0 && saved_ >= 0; }
    std::string journal_stream() const {
        struct stat st{};
        if (fstat(fd_, &st) != 0) return "";
        return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" + std::to_string(static_cast<uint64_t>(st.st_ino));
    }
    std::string text() const {
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = pread(fd_, buf, sizeof buf, static_cast<off_t>(out.size()))) > 0) out.append(buf, static_cast<size_t>(n));
        return out;
    }

private:
    int fd_ = -1;
    int saved_ = -1;
};

// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        const char* old = std::getenv(name);
        had_ = old != nullptr;
        if (had_) old_ = old;
        if (value) setenv(name, value, 1);
        else unsetenv(name);
    }
    ~ScopedEnv() {
        if (had_) setenv(name_, old_.c_str(), 1);
        else unsetenv(name_);
    }

private:
    const char* name_;
    bool had_ = false;
    std::string old_;
};

// ---- Clocks

TEST(PlatformClock, MonotonicAdvancesWithSleep) {
    int64_t ms0 = monotonic_ms();
    int64_t us0 = monotonic_us();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    int64_t ms1 = monotonic_ms();
    int64_t us1 = monotonic_us();
    EXPECT_GE(ms1 - ms0, 29);
    EXPECT_LT(ms1 - ms0, 5000);
    EXPECT_GE(us1 - us0, 30000);
    EXPECT_NEAR(static_cast<double>(us1 / 1000), static_cast<double>(ms1), 5.0);
}

TEST(PlatformClock, MonotonicNeverGoesBackwards) {
    int64_t last = monotonic_us();
    for (int i = 0; i < 10000; ++i) {
        int64_t now = monotonic_us();
        ASSERT_GE(now, last);
        last = now;
    }
}

TEST(PlatformClock, WallClockIsEpochMilliseconds) {
    auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    int64_t wall = wall_ms();
    auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_GE(wall, before);
    EXPECT_LE(wall, after);
}

// ---- Randomness

TEST(PlatformRandom, FillsBuffersDifferentlyEachTime) {
    unsigned char a[64] = {};
    unsigned char b[64] = {};
    ASSERT_TRUE(random_bytes(a, sizeof a));
    ASSERT_TRUE(random_bytes(b, sizeof b));
    EXPECT_NE(std::memcmp(a, b, sizeof a), 0);
    unsigned char zero[64] = {};
    EXPECT_NE(std::memcmp(a, zero, sizeof a), 0);
    EXPECT_TRUE(random_bytes(nullptr, 0));
}

TEST(PlatformRandom, LargeRequestsAreFilledCompletely) {
    std::string buf(1 << 20, '\0');
    ASSERT_TRUE(random_bytes(buf.data(), buf.size()));
    // A 1 MiB block with an all-zero 4 KiB tail would mean a short read went unnoticed.
    EXPECT_NE(buf.substr(buf.size() - 4096), std::string(4096, '\0'));
    size_t zeros = 0;
    for (char c : buf) zeros += c == '\0';
    EXPECT_LT(zeros, buf.size() / 128); // about 1/256 expected
}

// ---- Signals

std::atomic<int> g_wakes{0};
void count_wake() { g_wakes.fetch_add(1); }

TEST(PlatformSignal, HandlersSetFlagsAndWake) {
    install_signal_handlers(count_wake);
    while (take_signal() != Signal::none) {
    }
    g_wakes = 0;
    ASSERT_EQ(std::raise(SIGHUP), 0);
    EXPECT_EQ(g_wakes.load(), 1);
    EXPECT_EQ(take_signal(), Signal::reload);
    EXPECT_EQ(take_signal(), Signal::none);

    ASSERT_EQ(std::raise(SIGHUP), 0);
    ASSERT_EQ(std::raise(SIGINT), 0);
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_EQ(g_wakes.load(), 4);
    EXPECT_EQ(take_signal(), Signal::terminate);
    EXPECT_EQ(take_signal(), Signal::interrupt);
    EXPECT_EQ(take_signal(), Signal::reload);
    EXPECT_EQ(take_signal(), Signal::none);
}

TEST(PlatformSignal, RepeatedSignalsCollapseIntoOne) {
    install_signal_handlers(nullptr); // no wake function is allowed
    ASSERT_EQ(std::raise(SIGTERM), 0);
    ASSERT_EQ(std::raise(SIGTERM), 0);
    EXPECT_EQ(take_signal(), Signal::terminate);
    EXPECT_EQ(take_signal(), Signal::none);
}

TEST(PlatformSignal, SigpipeIsIgnored) {
    install_signal_handlers(nullptr);
    ASSERT_EQ(std::raise(SIGPIPE), 0); // would kill the test binary if not ignored
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    close(fds[0]);
    EXPECT_EQ(write(fds[1], "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
    close(fds[1]);
    EXPECT_EQ(take_signal(), Signal::none);
}

// ---- File descriptor limit

TEST(PlatformFdLimit, ReportsAndRaisesTheSoftLimit) {
    rlimit rl{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int64_t soft = static_cast<int64_t>(rl.rlim_cur);
    EXPECT_EQ(raise_fd_limit(0), soft);   // never lowers
    EXPECT_EQ(raise_fd_limit(soft), soft);
    if (rl.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no hard limit to be capped at";
    if (rl.rlim_cur >= rl.rlim_max) { // make headroom: lowering our own soft limit is always allowed
        ASSERT_GT(rl.rlim_max, 64u);
        rl.rlim_cur = rl.rlim_max - 16;
        ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
        soft = static_cast<int64_t>(rl.rlim_cur);
    }
    int64_t hard = static_cast<int64_t>(rl.rlim_max);
    int64_t wanted = soft + 1;
    EXPECT_EQ(raise_fd_limit(wanted), wanted);
    EXPECT_EQ(raise_fd_limit(hard + 1000), hard); // capped at the hard limit
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    EXPECT_EQ(static_cast<int64_t>(rl.rlim_cur), hard);
}

// ---- Memory mapped on demand

TEST(PlatformMemory, ZeroedMappingIsResidentOnlyWhereWritten) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t bytes = 1024 * page;
    auto* p = static_cast<unsigned char*>(map_zeroed(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % page, 0u);
    EXPECT_EQ(resident_bytes(p, bytes), 0); // reserved, not committed
    p[3 * page + 5] = 1;
    p[700 * page] = 2;
    EXPECT_EQ(resident_bytes(p, bytes), int64_t(2 * page)); // only the two pages written
    EXPECT_EQ(p[3 * page + 5], 1);
    // Reads see zeros (mincore counts a page read as resident: the shared zero page, which the
    // process' RSS does not count).
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[bytes - 1], 0);
    unmap_zeroed(p, bytes);
    EXPECT_EQ(map_zeroed(0), nullptr);
    unmap_zeroed(nullptr, 0); // nothing to give back
}

// ---- Files

TEST(PlatformFiles, WriteAtomicThenReadBack) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    std::string path = dir / "secret";
    EXPECT_FALSE(file_exists(path));
    ASSERT_TRUE(write_file_atomic(path, std::string_view("hello\0world", 11), 0600)) << last_error();
    EXPECT_TRUE(file_exists(path));
    std::string text;
    ASSERT_TRUE(read_file(path, text, 100));
    EXPECT_EQ(text, std::string("hello\0world", 11));
    struct stat st{};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    ASSERT_TRUE(write_file_atomic(path, "replaced", 0640));
    ASSERT_TRUE(read_file(path, text, 100));
    EXPECT_EQ(text, "replaced");
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    size_t entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) entries += e.exists();
    EXPECT_EQ(entries, 1u) << "a temporary file was left behind";
}

TEST(PlatformFiles, WriteIntoMissingDirectoryFails) {
    TempDir dir;
    EXPECT_FALSE(write_file_atomic(dir / "no/such/dir/file", "x", 0600));
    EXPECT_EQ(last_error(), "No such file or directory");
}

TEST(PlatformFiles, ReadFileRespectsTheCap) {
    TempDir dir;
    std::string path = dir / "ten";
    ASSERT_TRUE(write_file_atomic(path, "0123456789", 0644));
    std::string text = "stale";
    EXPECT_TRUE(read_file(path, text, 10));
    EXPECT_EQ(text, "0123456789");
    EXPECT_FALSE(read_file(path, text, 9));
    EXPECT_EQ(last_error(), "File too large");
    EXPECT_TRUE(text.empty());
    ASSERT_TRUE(write_file_atomic(path, "", 0644));
    EXPECT_TRUE(read_file(path, text, 0));
    EXPECT_EQ(text, "");
}

TEST(PlatformFiles, ReadFileReportsWhy) {
    TempDir dir;
    std::string text;
    EXPECT_FALSE(read_file(dir / "missing", text, 100));
    EXPECT_EQ(last_error(), "No such file or directory");
    EXPECT_FALSE(read_file(dir.path(), text, 100));
    EXPECT_EQ(last_error(), "Is a directory");
}

TEST(PlatformFiles, MakeDirsCreatesEveryLevel) {
    TempDir dir;
    std::string deep = dir / "a/b//c/";
    ASSERT_TRUE(make_dirs(deep, 0750)) << last_error();
    EXPECT_TRUE(fs::is_directory(dir / "a/b/c"));
    EXPECT_TRUE(make_dirs(dir / "a/b/c", 0750)); // already there
    struct stat st{};
    ASSERT_EQ(stat((dir / "a/b/c").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0750u & ~[] { mode_t m = umask(0); umask(m); return m; }());
}

TEST(PlatformFiles, MakeDirsRefusesAFileInThePath) {
    TempDir dir;
    ASSERT_TRUE(write_file_atomic(dir / "plain", "x", 0644));
    EXPECT_FALSE(make_dirs(dir / "plain", 0755));
    EXPECT_EQ(last_error(), "Not a directory");
    EXPECT_FALSE(make_dirs(dir / "plain/sub", 0755));
    EXPECT_FALSE(make_dirs("", 0755));
}

TEST(PlatformEnv, GetenvStrIsEmptyWhenUnset) {
    ScopedEnv set("OUTPOST_PLATFORM_TEST_VAR", "value=1");
    EXPECT_EQ(getenv_str("OUTPOST_PLATFORM_TEST_VAR"), "value=1");
    ScopedEnv unset("OUTPOST_PLATFORM_TEST_VAR", nullptr);
    EXPECT_EQ(getenv_str("OUTPOST_PLATFORM_TEST_VAR"), "");
}

// ---- Service manager: systemd notify protocol (linux backend)

// A datagram socket bound where NOTIFY_SOCKET will point, standing in for systemd.
class FakeManager {
public:
    explicit FakeManager(const std::string& address) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, address.data(), address.size());
        if (address[0] == '@') addr.sun_path[0] = '\0';
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
        bound_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    }
    ~FakeManager() {
        if (fd_ >= 0) close(fd_);
    }
    bool bound() const { return bound_; }
    // The next datagram, or "<none>" after `timeout_ms`.
    std::string receive(int timeout_ms = 1000) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1) return "<none>";
        char buf[512];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n < 0 ? "<error>" : std::string(buf, static_cast<size_t>(n));
    }

private:
    int fd_ = -1;
    bool bound_ = false;
};

TEST(PlatformNotify, SendsStateToAPathSocket) {
    TempDir dir;
    std::string path = dir / "notify";
    FakeManager manager(path);
    ASSERT_TRUE(manager.bound());
    ScopedEnv env("NOTIFY_SOCKET", path.c_str());
    notify("READY=1");
    notify("STATUS=listening on 0.0.0.0:3000");
    if (!linux_backend()) {
        EXPECT_EQ(manager.receive(100), "<none>");
        return;
    }
    EXPECT_EQ(manager.receive(), "READY=1");
    EXPECT_EQ(manager.receive(), "STATUS=listening on 0.0.0.0:3000");
}

TEST(PlatformNotify, SendsStateToAnAbstractSocket) {
    std::string name = "@outpost-test-notify-" + std::to_string(getpid());
    FakeManager manager(name);
    ASSERT_TRUE(manager.bound());
    ScopedEnv env("NOTIFY_SOCKET", name.c_str());
    notify("WATCHDOG=1");
    EXPECT_EQ(manager.receive(linux_backend() ? 1000 : 100), linux_backend() ? "WATCHDOG=1" : "<none>");
}

TEST(PlatformNotify, WithoutAUsableSocketNothingHappens) {
    TempDir dir;
    std::string path = dir / "notify";
    FakeManager manager(path);
    ASSERT_TRUE(manager.bound());
    for (const char* value : {static_cast<const char*>(nullptr), "", "relative/path", "vsock:2:1234"}) {
        ScopedEnv env("NOTIFY_SOCKET", value);
        errno = 0;
        notify("READY=1");
        EXPECT_EQ(errno, 0); // notify leaves errno alone
    }
    ScopedEnv env("NOTIFY_SOCKET", (dir / "nobody-listens").c_str());
    notify("READY=1");
    std::string too_long = "/" + std::string(200, 'x');
    ScopedEnv env2("NOTIFY_SOCKET", too_long.c_str());
    notify("READY=1");
    EXPECT_EQ(manager.receive(100), "<none>");
}

struct WatchdogCase {
    const char* usec;
    const char* pid; // "self" for our own pid
    int64_t expected_linux;
};

const WatchdogCase kWatchdogCases[] = {
    {nullptr, nullptr, 0},
    {"30000000", nullptr, 15000},
    {"30000000", "self", 15000},
    {"30000000", "1", 0},          // meant for another process
    {"30000000", "abc", 0},
    {"1000", nullptr, 1},          // rounds down to 0 ms, but a watchdog was asked for
    {"0", nullptr, 0},
    {"", nullptr, 0},
    {"-5", nullptr, 0},
    {"12x", nullptr, 0},
    {" 30000000", nullptr, 0},
};

TEST(PlatformWatchdog, IntervalIsHalfOfWatchdogUsec) {
    std::string self = std::to_string(getpid());
    for (const WatchdogCase& c : kWatchdogCases) {
        SCOPED_TRACE(std::string("WATCHDOG_USEC=") + (c.usec ? c.usec : "<unset>") +
                     " WATCHDOG_PID=" + (c.pid ? c.pid : "<unset>"));
        ScopedEnv usec("WATCHDOG_USEC", c.usec);
        const char* pid = c.pid && std::string_view(c.pid) == "self" ? self.c_str() : c.pid;
        ScopedEnv pid_env("WATCHDOG_PID", pid);
        EXPECT_EQ(watchdog_interval_ms(), linux_backend() ? c.expected_linux : 0);
    }
}

// ---- Log sink and journald detection

TEST(PlatformLogSink, JournalDetectedOnlyWhenStderrMatches) {
    StderrCapture capture;
    ASSERT_TRUE(capture.active());
    std::string match = capture.journal_stream();
    struct Case {
        const char* value;
        bool expected_linux;
    } cases[] = {
        {match.c_str(), true}, {nullptr, false}, {"", false}, {"1:2", false},
        {"garbage", false},    {"12:", false},   {":34", false},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.value ? c.value : "<unset>");
        ScopedEnv env("JOURNAL_STREAM", c.value);
        EXPECT_EQ(log_to_journal(), c.expected_linux && linux_backend());
    }
}

TEST(PlatformLogSink, WritesWholeLinesWithPriorityForTheJournal) {
    StderrCapture capture;
    ASSERT_TRUE(capture.active());
    {
        ScopedEnv env("JOURNAL_STREAM", nullptr);
        log_write(6, "plain line");
    }
    {
        ScopedEnv env("JOURNAL_STREAM", capture.journal_stream().c_str());
        log_write(3, "to the journal");
        log_write(42, "clamped");
    }
    std::string expected = linux_backend() ? "plain line\n<3>to the journal\n<7>clamped\n"
                                           : "plain line\nto the journal\nclamped\n";
    EXPECT_EQ(capture.text(), expected);
}

} // namespace
} // namespace outpost::platform
