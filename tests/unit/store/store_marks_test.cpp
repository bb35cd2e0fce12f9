// store_marks_test.cpp - The acked-seq marks (issue 14): a database that comes back with less than
// was acknowledged keeps its rooms' seqs above the marks and reports the lost ranges; a torn last
// record does not count; a database file replaced under a running store makes it unwritable.
#include <gtest/gtest.h>

#include <filesystem>
#include <chrono>
#include <fstream>
#include <thread>

#include "store/marks.h"
#include "store_test_util.h"

namespace outpost::store::test {
namespace {

class StoreMarks : public ::testing::Test {
protected:
    TempDir dir;
    std::string db = dir.file("outpost.db");
    StoreOptions opts = test_options(db);

    void send(Store& s, const std::string& room, int n, const std::string& prefix) {
        for (int i = 0; i < n; ++i) s.submit_message(1, room, "alice", prefix + std::to_string(i), "1", 1);
        for (const Completion& c : settle(s)) ASSERT_EQ(c.status, Status::ok) << c.error;
    }
};

TEST_F(StoreMarks, LostDatabaseKeepsSeqsAboveTheMarksAndReportsTheRanges) {
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        send(*s, "a", 5, "a");
        send(*s, "b", 3, "b");
    }
    EXPECT_TRUE(std::filesystem::exists(db + "-marks"));
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->latest_seq("a"), 5);
    EXPECT_EQ(s->latest_seq("b"), 3);
    EXPECT_EQ(s->lost_ranges("a"), (std::vector<std::pair<int64_t, int64_t>>{{1, 5}}));
    EXPECT_EQ(s->lost_ranges("b"), (std::vector<std::pair<int64_t, int64_t>>{{1, 3}}));
    EXPECT_TRUE(s->lost_ranges("c").empty());
    s->submit_message(1, "a", "alice", "after", "1", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].message.seq, 6) << "a lost seq is never handed out again";
}

TEST_F(StoreMarks, NoLossNoRanges) {
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        send(*s, "a", 4, "a");
    }
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->latest_seq("a"), 4);
    EXPECT_TRUE(s->lost_ranges("a").empty());
}

TEST_F(StoreMarks, FileFormatIgnoresTornAndForeignRecords) {
    const std::string path = dir.file("m");
    {
        std::ofstream f(path);
        f << "room-1 7\nroom-1 9\nroom-2 3\nbad room 5\nroom-3 x\nroom-4 -2\nroom-5 12"; // last: torn
    }
    SeqMarks marks(path);
    auto loaded = marks.load();
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    SeqMarks::Map m = *loaded;
    EXPECT_EQ(m, (SeqMarks::Map{{"room-1", 9}, {"room-2", 3}}));
    auto rewritten = marks.rewrite(m);
    ASSERT_TRUE(rewritten.ok()) << rewritten.error().message;
    auto appended = marks.append("room-2 4\n", true);
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    auto reloaded = marks.load();
    ASSERT_TRUE(reloaded.ok());
    SeqMarks::Map again = *reloaded;
    EXPECT_EQ(again, (SeqMarks::Map{{"room-1", 9}, {"room-2", 4}}));
}

TEST_F(StoreMarks, DatabaseRenamedAwayMakesTheStoreUnwritableUntilItIsBack) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    send(*s, "a", 2, "a");
    std::filesystem::rename(db, db + ".away");
    s->submit_message(1, "a", "alice", "while-away", "1", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::unavailable);
    EXPECT_NE(done[0].error.find("deleted or replaced"), std::string::npos) << done[0].error;
    EXPECT_FALSE(s->health().writable);
    std::filesystem::rename(db + ".away", db);
    for (int i = 0; i < 200 && !s->health().writable; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(s->health().writable) << s->health().reason;
}

TEST_F(StoreMarks, WalDeletedMakesTheStoreUnwritable) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    send(*s, "a", 2, "a");
    ASSERT_TRUE(std::filesystem::exists(db + "-wal"));
    std::filesystem::remove(db + "-wal");
    s->submit_message(1, "a", "alice", "no-wal", "1", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].status, Status::unavailable);
    EXPECT_NE(done[0].error.find("write-ahead log"), std::string::npos) << done[0].error;
    EXPECT_FALSE(s->health().writable);
}

} // namespace
} // namespace outpost::store::test
