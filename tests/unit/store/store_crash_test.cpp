// store_crash_test.cpp - A child process writes through the Store and reports each acked message
// on a pipe until it is SIGKILLed; the parent reopens and finds every acked message exactly once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "platform/platform.h"
#include "store_test_util.h"

namespace outpost::store::test {
namespace {

struct Acked {
    int64_t id, seq;
    char room[8];
    char client_id[16];
};

[[noreturn]] void child_writes(const std::string& db, int fd) {
    StoreOptions o = test_options(db);
    o.synchronous_full = true;
    auto r = Store::open(o, [] {});
    if (!r.ok()) _exit(2);
    Store& s = **r;
    for (uint64_t n = 0;; n += 16) {
        for (uint64_t i = n; i < n + 16; ++i)
            s.submit_message(i, "r" + std::to_string(i % 3), "writer", "k" + std::to_string(i), "{\"i\":1}", platform::wall_ms());
        s.flush();
        s.drain([&](Completion&& c) {
            if (c.status != Status::ok) _exit(3);
            Acked a{c.message.id, c.message.seq, {}, {}};
            snprintf(a.room, sizeof a.room, "%s", c.message.room.c_str());
            snprintf(a.client_id, sizeof a.client_id, "%s", c.message.client_id.c_str());
            if (write(fd, &a, sizeof a) != static_cast<ssize_t>(sizeof a)) _exit(4);
        });
    }
}

TEST(StoreCrash, EveryAckedMessageSurvivesSigkillExactlyOnceInOrder) {
    TempDir dir;
    const std::string db = dir.file("outpost.db");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        child_writes(db, fds[1]);
    }
    close(fds[1]);
    std::vector<Acked> acked;
    Acked a;
    while (acked.size() < 400 && read(fds[0], &a, sizeof a) == static_cast<ssize_t>(sizeof a)) acked.push_back(a);
    kill(pid, SIGKILL); // mid-stream: the child is between batches or inside one
    int status = 0;
    waitpid(pid, &status, 0);
    while (read(fds[0], &a, sizeof a) == static_cast<ssize_t>(sizeof a)) acked.push_back(a);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    ASSERT_GE(acked.size(), 400u);

    EXPECT_EQ(sql_text(db, "PRAGMA integrity_check"), "ok");
    auto s = open_store(test_options(db));
    ASSERT_TRUE(s);
    std::map<std::string, int64_t> last_seq;
    for (const Acked& x : acked) {
        EXPECT_EQ(x.seq, last_seq[x.room] + 1) << "acks of a room are gapless and ascending";
        last_seq[x.room] = x.seq;
        EXPECT_EQ(sql_text(db, "SELECT count(*) || ':' || min(id) || ':' || min(seq) FROM messages WHERE client_id='" +
                                   std::string(x.client_id) + "'"),
                  "1:" + std::to_string(x.id) + ":" + std::to_string(x.seq));
    }
    for (auto& [room, seq] : last_seq) {
        EXPECT_GE(s->latest_seq(room), seq);
        // whatever else committed is gapless too
        EXPECT_EQ(sql_text(db, "SELECT count(*) = max(seq) AND min(seq) = 1 FROM messages WHERE room='" + room + "'"), "1");
    }
    std::printf("[ crash    ] %zu acked messages before SIGKILL, all present\n", acked.size());
}

} // namespace
} // namespace outpost::store::test
