// store_fault_test.cpp - Faults: a full disk, a read-only one and I/O errors on write and fsync
// (injected through the fault_vfs.h shim, so they run as any user) make the store unwritable,
// writes fail fast with unavailable, and it recovers by itself; a corrupt file is quarantined at open.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "core/log.h"
#include "platform/platform.h"
#include "store/sqlite_db.h"
#include "fault_vfs.h"
#include "store_test_util.h"

namespace outpost::store::test {
namespace {

const bool kQuiet = (core::log_set_level(core::LogLevel::warn), true);

bool wait_until(const std::function<bool()>& pred, int ms) {
    for (int i = 0; i < ms / 10; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
}

TEST(StoreFault, DiskFullFailsUnavailableThenRecoversWithoutGaps) {
    (void)kQuiet;
    TempDir dir;
    FaultyDisk disk(dir.path);
    const std::string db = dir.file("outpost.db");
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
    disk.arm(DiskFault::full);

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
    EXPECT_GT(disk.failed_calls(), 0u);
    disk.clear();
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

// A storage fault at start-up does not stop the store: it serves unwritable (writes fail fast
// with unavailable, reads fail), and once the fault clears its probe opens the file by itself.
void start_faulty_then_recover(DiskFault fault, bool existing_db, const char* reason_part) {
    TempDir dir;
    const std::string db = dir.file("outpost.db");
    if (existing_db) {
        auto s = open_store(test_options(db));
        ASSERT_TRUE(s);
        s->submit_message(1, "r", "u", "before", "1", 1);
        ASSERT_EQ(settle(*s).at(0).status, Status::ok);
    }
    FaultyDisk disk(dir.path);
    disk.arm(fault);
    auto s = open_store(test_options(db));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->opens(), 0u);
    Health h = s->health();
    EXPECT_FALSE(h.writable);
    EXPECT_NE(h.reason.find(reason_part), std::string::npos) << h.reason;
    s->submit_join(1, "r", "alice");
    s->submit_message(2, "r", "u", "during", "2", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 2u);
    for (auto& c : done) {
        EXPECT_EQ(c.status, Status::unavailable);
        EXPECT_NE(c.error.find(reason_part), std::string::npos) << c.error;
    }
    EXPECT_FALSE(s->load_memberships().ok());
    EXPECT_GT(disk.failed_calls(), 0u);

    disk.clear();
    ASSERT_TRUE(wait_until([&] { return s->health().writable; }, 5000)) << s->health().reason;
    EXPECT_EQ(s->opens(), 1u);
    s->submit_message(3, "r", "u", "after", "3", 1);
    done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::ok) << done[0].error;
    EXPECT_EQ(done[0].message.seq, existing_db ? 2 : 1);
    s.reset();
    EXPECT_EQ(sql_text(db, "SELECT group_concat(client_id) FROM messages ORDER BY seq"),
              existing_db ? "before,after" : "after");
}

TEST(StoreFault, ReadOnlyDiskAtStartServesUnwritableThenOpens) {
    start_faulty_then_recover(DiskFault::read_only, false, "cannot open the database");
}

TEST(StoreFault, ReadOnlyExistingDatabaseAtStartServesUnwritableThenOpens) {
    start_faulty_then_recover(DiskFault::read_only, true, "cannot open the database");
}

TEST(StoreFault, FullDiskAtStartServesUnwritableThenOpens) {
    start_faulty_then_recover(DiskFault::full, false, "full");
}

// EIO on write or on fsync in a running store: the batch fails unavailable with "I/O error",
// the store turns unwritable, and the probe brings it back with no seq handed out twice.
void io_error_then_recover(DiskFault fault) {
    TempDir dir;
    FaultyDisk disk(dir.path);
    const std::string db = dir.file("outpost.db");
    StoreOptions o = test_options(db);
    o.synchronous_full = true; // WAL + synchronous=full syncs every commit
    auto s = open_store(o);
    ASSERT_TRUE(s);
    for (uint64_t i = 1; i <= 3; ++i) s->submit_message(i, "r", "u", "k" + std::to_string(i), "1", 1);
    ASSERT_EQ(settle(*s).size(), 3u);
    ASSERT_EQ(s->latest_seq("r"), 3);

    disk.arm(fault);
    s->submit_message(4, "r", "u", "k4", "1", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::unavailable);
    EXPECT_EQ(done[0].error.rfind("I/O error (", 0), 0u) << done[0].error;
    EXPECT_FALSE(s->health().writable);
    EXPECT_EQ(s->health().reason.rfind("I/O error (", 0), 0u) << s->health().reason;
    EXPECT_GE(s->health().failed_commits, 1u);

    disk.clear();
    ASSERT_TRUE(wait_until([&] { return s->health().writable; }, 5000)) << s->health().reason;
    s->submit_message(5, "r", "u", "k5", "1", 1);
    done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::ok) << done[0].error;
    const int64_t seq = done[0].message.seq;
    EXPECT_GT(seq, 3);
    s.reset();
    EXPECT_EQ(sql_text(db, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(sql_text(db, "SELECT count(DISTINCT seq) = count(*) FROM messages WHERE room='r'"), "1");
    EXPECT_EQ(sql_text(db, "SELECT seq FROM messages WHERE client_id='k5'"), std::to_string(seq));
}

TEST(StoreFault, WriteIoErrorFailsTheBatchThenRecovers) { io_error_then_recover(DiskFault::eio_write); }

TEST(StoreFault, FsyncIoErrorFailsTheBatchThenRecovers) { io_error_then_recover(DiskFault::eio_sync); }

// The acked-seq mark cannot be written (EIO on its fsync, ENOSPC on its write): the batch is
// committed but not acknowledged (unavailable), the store turns unwritable, and once the file
// system answers again the probe brings it back, the resend finds the row, and the next batch
// rewrites the marks file.
void marks_fault_then_recover(int write_errno, int sync_errno) {
    TempDir dir;
    const std::string db = dir.file("outpost.db");
    StoreOptions o = test_options(db);
    o.synchronous_full = true; // the marks are synced before the ack
    auto s = open_store(o);
    ASSERT_TRUE(s);
    s->submit_message(1, "r", "u", "k1", "1", 1);
    ASSERT_EQ(settle(*s).at(0).status, Status::ok);
    std::vector<Completion> done;
    {
        FailingFileCalls failing(write_errno, sync_errno);
        s->submit_message(2, "r", "u", "k2", "2", 1);
        done = settle(*s);
        ASSERT_EQ(done.size(), 1u);
        EXPECT_EQ(done[0].status, Status::unavailable);
        EXPECT_EQ(done[0].error.rfind("cannot record acknowledged seqs: cannot append to " + db + "-marks", 0), 0u)
            << done[0].error;
        EXPECT_FALSE(s->health().writable);
        EXPECT_EQ(s->health().reason, done[0].error);
        EXPECT_GE(s->health().failed_commits, 1u);
    }
    ASSERT_TRUE(wait_until([&] { return s->health().writable; }, 5000)) << s->health().reason;
    // One batch each (settled in turn), so what the marks file holds does not depend on whether
    // the two writes shared a group commit: the resend's batch rewrites the file from a snapshot
    // (r 2; the "r 1" and the unsynced "r 2" before it are gone), the next one appends.
    s->submit_message(3, "r", "u", "k2", "2", 1); // the resend
    done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::ok) << done[0].error;
    EXPECT_TRUE(done[0].duplicate);
    EXPECT_EQ(done[0].message.seq, 2);
    s->submit_message(4, "r", "u", "k3", "3", 1);
    done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::ok) << done[0].error;
    EXPECT_EQ(done[0].message.seq, 3);
    s.reset();
    std::ifstream marks(db + "-marks");
    std::string text((std::istreambuf_iterator<char>(marks)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "r 2\nr 3\n");
}

TEST(StoreFault, MarksFsyncIoErrorFailsTheAckThenRecovers) { marks_fault_then_recover(0, EIO); }

TEST(StoreFault, MarksWriteDiskFullFailsTheAckThenRecovers) { marks_fault_then_recover(ENOSPC, 0); }

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
