// store_fault_test.cpp - Faults: a full disk (a tiny tmpfs) makes the store unwritable, writes fail
// fast with unavailable, and it recovers by itself; a corrupt file is quarantined at open.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "core/log.h"
#include "platform/platform.h"
#include "store/sqlite_db.h"
#include "store_test_util.h"

namespace outpost::store::test {
namespace {

const bool kQuiet = (core::log_set_level(core::LogLevel::warn), true);

// A tmpfs of the given size mounted on a fresh directory; unmounted on destruction.
struct TinyFs {
    TempDir dir;
    std::string mnt = dir.file("mnt");
    bool mounted = false;
    explicit TinyFs(const char* size_opt) {
        std::filesystem::create_directory(mnt);
        mounted = mount("tmpfs", mnt.c_str(), "tmpfs", 0, size_opt) == 0;
    }
    ~TinyFs() {
        if (mounted) umount2(mnt.c_str(), MNT_DETACH);
    }
};

// Writes zeros to path until the file system refuses; returns the bytes written.
int64_t fill_up(const std::string& path) {
    int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) return -1;
    std::vector<char> chunk(4096, 0);
    int64_t total = 0;
    for (;;) {
        ssize_t n = write(fd, chunk.data(), chunk.size());
        if (n <= 0) break;
        total += n;
    }
    close(fd);
    return total;
}

bool wait_until(const std::function<bool()>& pred, int ms) {
    for (int i = 0; i < ms / 10; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
}

TEST(StoreFault, DiskFullFailsUnavailableThenRecoversWithoutGaps) {
    (void)kQuiet;
    TinyFs fs("size=2m");
    if (!fs.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << platform::last_error();
    const std::string db = fs.mnt + "/outpost.db";
    auto s = open_store(test_options(db));
    ASSERT_TRUE(s);
    const std::string body = "\"" + std::string(4000, 'b') + "\"";
    uint64_t token = 0;
    int64_t last_ok = 0;
    auto send_batch = [&](int n) {
        for (int i = 0; i < n; ++i, ++token) s->submit_message(token, "r", "u", "k" + std::to_string(token), body, 1);
        std::vector<Completion> done = settle(*s);
        for (auto& c : done)
            if (c.status == Status::ok) {
                EXPECT_EQ(c.message.seq, last_ok + 1);
                last_ok = c.message.seq;
            }
        return done;
    };
    send_batch(5);
    ASSERT_EQ(last_ok, 5);
    ASSERT_GT(fill_up(fs.mnt + "/filler"), 0);

    // Write until the disk refuses; every failure is unavailable with the reason.
    bool saw_full = false;
    for (int round = 0; round < 100 && !saw_full; ++round)
        for (auto& c : send_batch(8))
            if (c.status != Status::ok) {
                EXPECT_EQ(c.status, Status::unavailable);
                EXPECT_EQ(c.error, "disk full");
                saw_full = true;
            }
    ASSERT_TRUE(saw_full);
    Health h = s->health();
    EXPECT_FALSE(h.writable);
    EXPECT_EQ(h.reason, "disk full");
    EXPECT_GE(h.failed_commits, 1u);

    // While unwritable, new writes fail fast, in order.
    auto t0 = std::chrono::steady_clock::now();
    s->submit_join(9001, "r", "late");
    s->submit_message(9002, "r", "u", "while-full", "1", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0].token, 9001u);
    EXPECT_EQ(done[1].status, Status::unavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));

    // Free space: the probe flips it back by itself, and seq continues without a gap.
    std::filesystem::remove(fs.mnt + "/filler");
    ASSERT_TRUE(wait_until([&] { return s->health().writable; }, 5000)) << s->health().reason;
    EXPECT_TRUE(s->health().reason.empty());
    const int64_t before = last_ok;
    send_batch(3);
    EXPECT_EQ(last_ok, before + 3);
    EXPECT_EQ(s->latest_seq("r"), last_ok);
    s.reset();
    EXPECT_EQ(sql_text(db, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(sql_text(db, "SELECT count(*) = max(seq) FROM messages WHERE room='r'"), "1");
    EXPECT_EQ(sql_text(db, "SELECT max(seq) FROM messages"), std::to_string(last_ok));
}

// What each SQLite failure class reads as in Health.reason and Completion.error.
TEST(StoreFault, ResultCodesMapToReasons) {
    struct Case {
        int rc;
        Fault fault;
        const char* reason_prefix;
    };
    const Case cases[] = {
        {SQLITE_FULL, Fault::disk_full, "disk full"},
        {SQLITE_READONLY, Fault::read_only, "database is read-only"},
        {SQLITE_READONLY_DBMOVED, Fault::read_only, "database is read-only"},
        {SQLITE_IOERR_FSYNC, Fault::io_error, "I/O error ("},
        {SQLITE_IOERR_WRITE, Fault::io_error, "I/O error ("},
        {SQLITE_CANTOPEN, Fault::cant_open, "cannot open database file"},
        {SQLITE_NOTADB, Fault::corrupt, "database corrupt"},
        {SQLITE_BUSY, Fault::none, "storage error"},
        {SQLITE_CONSTRAINT_UNIQUE, Fault::none, "storage error"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(fault_of(c.rc), c.fault) << c.rc;
        EXPECT_EQ(fault_reason(fault_of(c.rc), c.rc, "").rfind(c.reason_prefix, 0), 0u) << c.rc;
    }
}

struct CorruptCase {
    const char* name;
    int64_t offset; // where garbage goes; -1: everything after the first page
};

class StoreCorrupt : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(StoreCorrupt, CorruptFileIsQuarantinedAndAFreshOneStarts) {
    TempDir dir;
    const std::string db = dir.file("outpost.db");
    {
        auto s = open_store(test_options(db));
        ASSERT_TRUE(s);
        for (int i = 0; i < 300; ++i)
            s->submit_message(uint64_t(i), "r" + std::to_string(i % 4), "u", "k" + std::to_string(i),
                              "\"" + std::string(200, 'q') + "\"", 1);
        (void)settle(*s);
    }
    {
        const int64_t size = static_cast<int64_t>(std::filesystem::file_size(db));
        std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
        const int64_t from = GetParam().offset >= 0 ? GetParam().offset : 4096;
        const int64_t len = GetParam().offset >= 0 ? 100 : size - 4096;
        std::string garbage(static_cast<size_t>(len), '\0');
        for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>("garbage!"[i % 8] ^ (i * 31));
        f.seekp(from);
        f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    auto s = open_store(test_options(db));
    ASSERT_TRUE(s);
    int quarantined = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("outpost.db.corrupt-", 0) == 0 && name.find("-wal") == std::string::npos &&
            name.find("-shm") == std::string::npos) {
            ++quarantined;
            EXPECT_GT(std::filesystem::file_size(e.path()), 4096u);
        }
    }
    EXPECT_EQ(quarantined, 1);
    // The rows went with the old file; the acked-seq marks keep the room above them (issue 14).
    EXPECT_EQ(s->latest_seq("r1"), 75);
    EXPECT_EQ(s->lost_ranges("r1"), (std::vector<std::pair<int64_t, int64_t>>{{1, 75}}));
    s->submit_message(1, "r1", "u", "k1", "1", 1); // the old key is gone with the old file
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::ok);
    EXPECT_FALSE(done[0].duplicate);
    EXPECT_EQ(done[0].message.seq, 76);
    EXPECT_EQ(sql_text(db, "PRAGMA integrity_check"), "ok");
}

INSTANTIATE_TEST_SUITE_P(Cases, StoreCorrupt,
                         ::testing::Values(CorruptCase{"header", 0}, CorruptCase{"all_pages_but_the_first", -1}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

} // namespace
} // namespace outpost::store::test
