// sqlite_ceiling.cpp - The durable scenario's ceiling: Outpost's schema and pragmas, raw SQLite.
// Opens a fresh database with store::open_writer (the same schema, WAL, synchronous=FULL) and
// commits --batch messages per transaction (what group commit does with that many senders) for
// --duration seconds: one INSERT into messages and one room upsert per message, then COMMIT.
// Prints "RESULT scenario=sqlite_ceiling ... commits_per_s= msgs_per_s= commit_p99_us=".
// Never: touches a database it did not create (the file must not exist).
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "stats.h"
#include "store/schema.h"
#include "store/sqlite_db.h"

int main(int argc, char** argv) {
    std::string path;
    int batch = 20, rooms = 20;
    double duration = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--db")) path = argv[i + 1];
        else if (!std::strcmp(argv[i], "--batch")) batch = std::max(1, std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--rooms")) rooms = std::max(1, std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--duration")) duration = std::atof(argv[i + 1]);
    }
    if (path.empty() || access(path.c_str(), F_OK) == 0) {
        std::fprintf(stderr, "usage: sqlite_ceiling --db NEW_FILE [--batch N] [--rooms N] [--duration S]\n");
        return 2;
    }
    outpost::store::Db db;
    if (outpost::store::Done opened = outpost::store::open_writer(db, path, true); !opened.ok()) {
        std::fprintf(stderr, "sqlite_ceiling: %s\n", opened.error().message.c_str());
        return 1;
    }
    sqlite3* h = db.raw();
    sqlite3_stmt *ins = nullptr, *room = nullptr;
    if (sqlite3_prepare_v2(h, "INSERT INTO messages(room, seq, sender, client_id, body, ts, sender_device) "
                              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &ins, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(h, "INSERT INTO rooms(name, latest_seq) VALUES(?1, ?2) "
                              "ON CONFLICT(name) DO UPDATE SET latest_seq = excluded.latest_seq", -1, &room, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "sqlite_ceiling: %s (has the schema changed?)\n", sqlite3_errmsg(h));
        return 1;
    }
    std::string body = "{\"t\":1234567890123}";
    loadgen::Histogram commit_us;
    int64_t t0 = loadgen::now_us(), end = t0 + int64_t(duration * 1e6), msgs = 0, commits = 0, seq = 0;
    while (loadgen::now_us() < end) {
        int64_t c0 = loadgen::now_us();
        sqlite3_exec(h, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        for (int i = 0; i < batch; ++i, ++msgs) {
            std::string r = std::string("dur").append(std::to_string(msgs % rooms));
            std::string key = std::string("d").append(std::to_string(msgs));
            int64_t s = ++seq;
            sqlite3_bind_text(ins, 1, r.c_str(), int(r.size()), SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins, 2, s);
            sqlite3_bind_text(ins, 3, "u1", 2, SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, key.c_str(), int(key.size()), SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 5, body.c_str(), int(body.size()), SQLITE_STATIC);
            sqlite3_bind_int64(ins, 6, c0 / 1000);
            sqlite3_bind_text(ins, 7, "lg", 2, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                std::fprintf(stderr, "sqlite_ceiling: insert: %s\n", sqlite3_errmsg(h));
                return 1;
            }
            sqlite3_reset(ins);
            sqlite3_bind_text(room, 1, r.c_str(), int(r.size()), SQLITE_TRANSIENT);
            sqlite3_bind_int64(room, 2, s);
            sqlite3_step(room);
            sqlite3_reset(room);
        }
        if (sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
            std::fprintf(stderr, "sqlite_ceiling: commit: %s\n", sqlite3_errmsg(h));
            return 1;
        }
        ++commits;
        commit_us.add(loadgen::now_us() - c0);
    }
    double s = double(loadgen::now_us() - t0) / 1e6;
    std::printf("RESULT scenario=sqlite_ceiling batch=%d commits_per_s=%.0f msgs_per_s=%.0f commit_p50_us=%lld commit_p99_us=%lld\n",
                batch, double(commits) / s, double(msgs) / s, (long long)commit_us.quantile(0.5),
                (long long)commit_us.quantile(0.99));
    sqlite3_finalize(ins);
    sqlite3_finalize(room);
    return 0;
}
