// store_log_test.cpp - The message log, memberships and cursors through the public Store API:
// gapless per-room seq, idempotent resend, durability across reopen, history, replay, schema.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "store/schema.h"
#include "store_test_util.h"

namespace outpost::store::test {
namespace {

class StoreLog : public ::testing::Test {
protected:
    TempDir dir;
    std::string db = dir.file("outpost.db");
    StoreOptions opts = test_options(db);
};

TEST_F(StoreLog, OpenCreatesSchemaInWalWithIncrementalVacuum) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    EXPECT_EQ(sql_text(db, "PRAGMA user_version"), std::to_string(schema_version_latest()));
    EXPECT_EQ(sql_text(db, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(sql_text(db, "PRAGMA auto_vacuum"), "2");
    for (const char* t : {"rooms", "memberships", "messages", "cursors"})
        EXPECT_EQ(sql_text(db, std::string("SELECT count(*) FROM sqlite_schema WHERE name='") + t + "'"), "1") << t;
    EXPECT_TRUE(s->health().writable);
    EXPECT_EQ(s->latest_seq("nowhere"), 0);
}

TEST_F(StoreLog, SeqIsGaplessPerRoomUnderConcurrentSubmitters) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    constexpr int kThreads = 4, kRooms = 8, kPerRoomPerThread = 40;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerRoomPerThread; ++i)
                for (int r = 0; r < kRooms; ++r)
                    s->submit_message(uint64_t(t) << 32 | uint64_t(i * kRooms + r), "room" + std::to_string(r),
                                      "u" + std::to_string(t), std::to_string(i) + "-" + std::to_string(r),
                                      "{\"i\":" + std::to_string(i) + "}", 1000 + i);
        });
    }
    for (auto& th : threads) th.join();
    auto done = settle(*s);
    ASSERT_EQ(done.size(), size_t(kThreads * kRooms * kPerRoomPerThread));
    std::map<std::string, std::vector<int64_t>> seqs;
    std::set<int64_t> ids;
    for (auto& c : done) {
        ASSERT_EQ(c.status, Status::ok) << c.error;
        EXPECT_FALSE(c.duplicate);
        seqs[c.message.room].push_back(c.message.seq);
        EXPECT_TRUE(ids.insert(c.message.id).second);
    }
    for (auto& [room, v] : seqs) {
        // completions arrive in commit order, so each room's seqs are already 1..N ascending
        for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], int64_t(i + 1)) << room;
        EXPECT_EQ(s->latest_seq(room), int64_t(v.size()));
        EXPECT_EQ(sql_text(db, "SELECT count(*) || ':' || max(seq) FROM messages WHERE room='" + room + "'"),
                  std::to_string(v.size()) + ":" + std::to_string(v.size()));
    }
    EXPECT_GE(s->health().commits, 1u);
}

TEST_F(StoreLog, CompletionsComeInSubmissionOrderAndWakeIsCalled) {
    std::atomic<int> wakes{0};
    auto s = open_store(opts, &wakes);
    ASSERT_TRUE(s);
    for (uint64_t t = 1; t <= 300; ++t) {
        switch (t % 4) {
        case 0: s->submit_message(t, "r" + std::to_string(t % 3), "a", "c" + std::to_string(t), "1", 5); break;
        case 1: s->submit_join(t, "r" + std::to_string(t % 3), "u" + std::to_string(t)); break;
        case 2: s->submit_cursor(t, "a", "d", "r1", int64_t(t), -1); break;
        case 3: s->submit_leave(t, "r" + std::to_string(t % 3), "u" + std::to_string(t - 2)); break;
        }
    }
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 300u);
    for (size_t i = 0; i < done.size(); ++i) {
        EXPECT_EQ(done[i].token, i + 1);
        EXPECT_EQ(done[i].status, Status::ok) << done[i].error;
    }
    EXPECT_GT(wakes.load(), 0);
}

struct ResendCase {
    const char* name;
    bool flush_between; // false: both copies in one batch
    const char* resend_room;
};

class StoreResend : public StoreLog, public ::testing::WithParamInterface<ResendCase> {};

TEST_P(StoreResend, ResendGetsFirstAckWithDuplicate) {
    const ResendCase& tc = GetParam();
    opts.commit_interval_ms = 50; // both submissions land in one batch unless flushed between
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    s->submit_message(1, "lobby", "alice", "k1", "\"x\"", 111);
    s->submit_message(2, "lobby", "alice", "k0", "\"y\"", 112);
    std::vector<Completion> done;
    if (tc.flush_between) done = settle(*s);
    s->submit_message(3, tc.resend_room, "alice", "k1", "\"changed\"", 999);
    s->submit_message(4, "lobby", "bob", "k1", "\"z\"", 113); // another sender may reuse the key
    for (auto& c : settle(*s)) done.push_back(std::move(c));
    ASSERT_EQ(done.size(), 4u);
    const Message& first = done[0].message;
    EXPECT_EQ(first.seq, 1);
    EXPECT_FALSE(done[0].duplicate);
    EXPECT_TRUE(done[2].duplicate);
    EXPECT_EQ(done[2].status, Status::ok);
    EXPECT_EQ(done[2].message.id, first.id);
    EXPECT_EQ(done[2].message.seq, 1);
    EXPECT_EQ(done[2].message.ts, 111);
    EXPECT_EQ(done[2].message.room, "lobby");
    EXPECT_EQ(done[2].message.body, "\"x\"");
    EXPECT_FALSE(done[3].duplicate);
    EXPECT_EQ(done[3].message.seq, 3);
    EXPECT_EQ(s->latest_seq("lobby"), 3);
    EXPECT_EQ(s->latest_seq("elsewhere"), 0);
    EXPECT_EQ(sql_text(db, "SELECT count(*) FROM messages"), "3");
}

INSTANTIATE_TEST_SUITE_P(Cases, StoreResend,
                         ::testing::Values(ResendCase{"same_batch", false, "lobby"},
                                           ResendCase{"later_batch", true, "lobby"},
                                           ResendCase{"later_other_room", true, "elsewhere"},
                                           ResendCase{"same_batch_other_room", false, "elsewhere"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// Writes that never go quiet (one every 100 us, kQuiet is 250 us) still commit in groups about as
// long as a commit takes, not once per commit_interval_ms: with an interval of 10 s, a stream of
// 300 ms would otherwise see no commit at all before it ends (commit_batch is out of reach too).
TEST_F(StoreLog, AGroupWaitsNoLongerThanACommitTakes) {
    opts.commit_interval_ms = 10000;
    opts.commit_batch = 100000;
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    s->submit_message(0, "lobby", "u", "k0", "{}", 1);
    (void)settle(*s); // one measured commit
    uint64_t before = s->health().commits;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    int n = 1;
    while (std::chrono::steady_clock::now() < end) {
        s->submit_message(uint64_t(n), "lobby", "u", "k" + std::to_string(n), "{}", n);
        ++n;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    uint64_t during = s->health().commits - before;
    auto done = settle(*s);
    EXPECT_EQ(done.size(), size_t(n - 1));
    EXPECT_GE(during, 2u) << n - 1 << " writes in 300 ms";
}

TEST_F(StoreLog, DestructorCommitsQueuedWritesAndReopenSeesThem) {
    opts.commit_interval_ms = 1000; // what is still queued when the destructor runs, it commits
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        for (int i = 0; i < 500; ++i)
            s->submit_message(uint64_t(i), i % 2 ? "odd" : "even", "u", "k" + std::to_string(i), "{}", i);
        s->submit_join(1000, "odd", "u");
        s->submit_cursor(1001, "u", "phone", "odd", 7, 3);
    }
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->latest_seq("odd"), 250);
    EXPECT_EQ(s->latest_seq("even"), 250);
    auto r = s->replay("even", 0, 1000);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 250u);
    for (size_t i = 0; i < r->size(); ++i) EXPECT_EQ((*r)[i].seq, int64_t(i + 1));
    EXPECT_EQ((*r)[0].client_id, "k0");
    auto m = s->load_memberships();
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(m->size(), 1u);
    EXPECT_EQ((*m)[0].joined_seq, 250);
    auto c = s->load_cursors("u");
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->size(), 1u);
    EXPECT_EQ((*c)[0].delivered, 7);
    // seq continues after a restart
    s->submit_message(1, "odd", "u", "after-restart", "{}", 1);
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].message.seq, 251);
}

struct HistoryCase {
    const char* name;
    int64_t before, after;
    int limit;
    std::vector<int64_t> seqs;
    bool has_more;
};

class StoreHistory : public StoreLog, public ::testing::WithParamInterface<HistoryCase> {};

TEST_P(StoreHistory, PagesInAscendingOrder) {
    const HistoryCase& tc = GetParam();
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    for (int i = 1; i <= 10; ++i) s->submit_message(uint64_t(i), "h", "u", std::to_string(i), "{}", i);
    s->submit_message(99, "other", "u", "x", "{}", 1);
    (void)settle(*s);
    bool more = !tc.has_more;
    auto r = s->history("h", tc.before, tc.after, tc.limit, more);
    ASSERT_TRUE(r.ok());
    std::vector<int64_t> got;
    for (auto& m : *r) {
        got.push_back(m.seq);
        EXPECT_EQ(m.room, "h");
    }
    EXPECT_EQ(got, tc.seqs);
    EXPECT_EQ(more, tc.has_more);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StoreHistory,
    ::testing::Values(HistoryCase{"newest_page", -1, -1, 3, {8, 9, 10}, true},
                      HistoryCase{"everything", -1, -1, 50, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
                      HistoryCase{"exactly_all", -1, -1, 10, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, false},
                      HistoryCase{"before", 8, -1, 3, {5, 6, 7}, true},
                      HistoryCase{"before_reaches_start", 4, -1, 3, {1, 2, 3}, false},
                      HistoryCase{"before_past_start", 3, -1, 5, {1, 2}, false},
                      HistoryCase{"after", -1, 2, 3, {3, 4, 5}, true},
                      HistoryCase{"after_reaches_end", -1, 7, 3, {8, 9, 10}, false},
                      HistoryCase{"after_latest", -1, 10, 3, {}, false},
                      HistoryCase{"window", 8, 2, 3, {3, 4, 5}, true},
                      HistoryCase{"window_exact", 6, 2, 3, {3, 4, 5}, false},
                      HistoryCase{"before_beyond_latest", 100, -1, 2, {9, 10}, true},
                      HistoryCase{"after_zero_is_a_bound", -1, 0, 3, {1, 2, 3}, true},
                      HistoryCase{"before_zero_is_empty", 0, -1, 3, {}, false}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(StoreLog, HistoryRejectsNonPositiveLimitAndEmptyRoomIsEmpty) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    bool more = true;
    EXPECT_EQ(s->history("h", -1, -1, 0, more).status(), Status::invalid_argument);
    auto r = s->history("h", -1, -1, 10, more);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty());
    EXPECT_FALSE(more);
    EXPECT_EQ(s->oldest_seq("h"), 0);
}

TEST_F(StoreLog, ReplayReturnsMessagesAfterCursorWithSenderFields) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    for (int i = 1; i <= 6; ++i)
        s->submit_message(uint64_t(i), "r", i % 2 ? "alice" : "bob", "c" + std::to_string(i),
                          "{\"n\":" + std::to_string(i) + "}", 100 + i);
    (void)settle(*s);
    auto r = s->replay("r", 2, 3);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].seq, 3);
    EXPECT_EQ((*r)[0].sender, "alice");
    EXPECT_EQ((*r)[0].client_id, "c3");
    EXPECT_EQ((*r)[0].body, "{\"n\":3}");
    EXPECT_EQ((*r)[0].ts, 103);
    EXPECT_EQ((*r)[2].seq, 5);
    EXPECT_EQ(s->replay("r", 6, 10)->size(), 0u);
    EXPECT_EQ(s->replay("r", 0, 100)->size(), 6u);
    EXPECT_EQ(s->oldest_seq("r"), 1);
}

struct CursorStep {
    int64_t delivered, read;
    int64_t want_delivered, want_read;
};

TEST_F(StoreLog, CursorsAreMonotonicAndMinusOneLeavesAFieldAlone) {
    const std::vector<CursorStep> steps = {
        {5, -1, 5, 0}, {3, -1, 5, 0}, {-1, 2, 5, 2}, {9, 1, 9, 2}, {-1, -1, 9, 2}, {9, 9, 9, 9}, {0, 0, 9, 9},
    };
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    for (size_t i = 0; i < steps.size(); ++i) {
        s->submit_cursor(i, "alice", "phone", "r", steps[i].delivered, steps[i].read);
        auto done = settle(*s);
        ASSERT_EQ(done.size(), 1u);
        EXPECT_EQ(done[0].status, Status::ok);
        EXPECT_EQ(done[0].cursor.delivered, steps[i].want_delivered) << "step " << i;
        EXPECT_EQ(done[0].cursor.read, steps[i].want_read) << "step " << i;
    }
    s->submit_cursor(50, "alice", "laptop", "r", 1, -1);
    s->submit_cursor(51, "alice", "laptop", "s", 4, 4);
    s->submit_cursor(52, "bob", "phone", "r", 8, 8);
    (void)settle(*s);
    auto c = s->load_cursors("alice");
    ASSERT_TRUE(c.ok());
    std::map<std::string, std::pair<int64_t, int64_t>> got;
    for (auto& x : *c) got[x.device + "/" + x.room] = {x.delivered, x.read};
    EXPECT_EQ(got.size(), 3u);
    EXPECT_EQ(got["phone/r"], std::make_pair(int64_t(9), int64_t(9)));
    EXPECT_EQ(got["laptop/r"], std::make_pair(int64_t(1), int64_t(0)));
    EXPECT_EQ(got["laptop/s"], std::make_pair(int64_t(4), int64_t(4)));
}

TEST_F(StoreLog, MembershipsJoinLeaveAndLoad) {
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    s->submit_join(1, "a", "alice");
    s->submit_message(2, "a", "alice", "m1", "{}", 1);
    s->submit_message(3, "a", "alice", "m2", "{}", 1);
    s->submit_join(4, "a", "bob");   // joins after two messages in the same batch
    s->submit_join(5, "a", "alice"); // already a member
    s->submit_join(6, "b", "carol");
    s->submit_cursor(7, "bob", "phone", "a", 2, 2);
    s->submit_leave(8, "b", "carol");
    s->submit_leave(9, "b", "carol"); // not a member any more
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 9u);
    EXPECT_EQ(done[0].message.seq, 0);
    EXPECT_FALSE(done[0].duplicate);
    EXPECT_EQ(done[3].message.seq, 2);
    EXPECT_EQ(done[3].kind, OpKind::join);
    EXPECT_TRUE(done[4].duplicate);
    EXPECT_EQ(done[4].message.seq, 2);
    EXPECT_FALSE(done[7].duplicate);
    EXPECT_TRUE(done[8].duplicate);
    auto m = s->load_memberships();
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(m->size(), 2u);
    EXPECT_EQ((*m)[0].user, "alice");
    EXPECT_EQ((*m)[0].joined_seq, 0);
    EXPECT_EQ((*m)[1].user, "bob");
    EXPECT_EQ((*m)[1].joined_seq, 2);
    s->submit_leave(10, "a", "bob");
    (void)settle(*s);
    EXPECT_TRUE(s->load_cursors("bob")->empty()); // leaving drops the user's cursors in the room
    EXPECT_EQ(s->load_memberships()->size(), 1u);
}

TEST_F(StoreLog, InvalidWritesCompleteInvalidArgumentWithoutFailingTheBatch) {
    opts.commit_interval_ms = 50;
    auto s = open_store(opts);
    ASSERT_TRUE(s);
    s->submit_message(1, "", "u", "k", "{}", 1);
    s->submit_message(2, "r", "u", "k", "{}", 1);
    s->submit_message(3, "r", "u", "", "{}", 1);
    s->submit_cursor(4, "u", "d", "r", -5, 0);
    s->submit_join(5, "r", "");
    auto done = settle(*s);
    ASSERT_EQ(done.size(), 5u);
    std::vector<Status> want = {Status::invalid_argument, Status::ok, Status::invalid_argument,
                                Status::invalid_argument, Status::invalid_argument};
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(done[i].status, want[i]) << i;
    EXPECT_EQ(done[1].message.seq, 1);
}

TEST_F(StoreLog, MigratesAnOlderSchemaAndRefusesANewerOne) {
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
        // what schema 1 created, with a row that must survive the migration
        const char* v1 =
            "CREATE TABLE rooms(name TEXT PRIMARY KEY, latest_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
            "CREATE TABLE memberships(room TEXT NOT NULL, user TEXT NOT NULL, joined_seq INTEGER NOT NULL,"
            "  PRIMARY KEY(room, user)) WITHOUT ROWID;"
            "CREATE TABLE messages(id INTEGER PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL,"
            "  sender TEXT NOT NULL, client_id TEXT NOT NULL, body TEXT NOT NULL, ts INTEGER NOT NULL,"
            "  UNIQUE(room, seq), UNIQUE(sender, client_id));"
            "CREATE TABLE cursors(user TEXT NOT NULL, device TEXT NOT NULL, room TEXT NOT NULL,"
            "  delivered INTEGER NOT NULL DEFAULT 0, read INTEGER NOT NULL DEFAULT 0,"
            "  PRIMARY KEY(user, device, room)) WITHOUT ROWID;"
            "CREATE TABLE probe(id INTEGER PRIMARY KEY, at INTEGER NOT NULL);"
            "INSERT INTO rooms VALUES('old', 4);"
            "INSERT INTO messages(room, seq, sender, client_id, body, ts) VALUES('old', 4, 'u', 'k', '1', 1);"
            "PRAGMA user_version=1;";
        ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
    }
    {
        auto s = open_store(opts);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->latest_seq("old"), 4);
        EXPECT_EQ(sql_text(db, "SELECT count(*) FROM sqlite_schema WHERE name='messages_ts'"), "1");
    }
    EXPECT_EQ(sql_text(db, "PRAGMA user_version"), std::to_string(schema_version_latest()));
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
    }
    auto r = Store::open(opts, [] {});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::unavailable);
}

} // namespace
} // namespace outpost::store::test
