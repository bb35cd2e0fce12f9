// schema.cpp - Integrity check with quarantine, connection pragmas, and the migration steps.
#include "store/schema.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "core/log.h"
#include "platform/platform.h"

namespace outpost::store {
namespace {

// Each step runs in its own transaction and sets user_version to its index + 1. Append only.
constexpr const char* kMigrations[] = {
    // 1: rooms, memberships, the message log, per-device cursors, and the writer's probe table.
    "CREATE TABLE rooms(name TEXT PRIMARY KEY, latest_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE memberships(room TEXT NOT NULL, user TEXT NOT NULL, joined_seq INTEGER NOT NULL,"
    "  PRIMARY KEY(room, user)) WITHOUT ROWID;"
    "CREATE TABLE messages(id INTEGER PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  sender TEXT NOT NULL, client_id TEXT NOT NULL, body TEXT NOT NULL, ts INTEGER NOT NULL,"
    "  UNIQUE(room, seq), UNIQUE(sender, client_id));"
    "CREATE TABLE cursors(user TEXT NOT NULL, device TEXT NOT NULL, room TEXT NOT NULL,"
    "  delivered INTEGER NOT NULL DEFAULT 0, read INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(user, device, room)) WITHOUT ROWID;"
    "CREATE TABLE probe(id INTEGER PRIMARY KEY, at INTEGER NOT NULL);",
    // 2: indexes for retention (age order, unconfirmed counting).
    "CREATE INDEX messages_ts ON messages(ts);"
    "CREATE INDEX cursors_room ON cursors(room, delivered);",
    // 3: the sending device, so a device's replay can skip what it sent itself.
    "ALTER TABLE messages ADD COLUMN sender_device TEXT NOT NULL DEFAULT '';",
    // 4: acknowledged seqs found missing at start (a damaged WAL): announced to devices as sync:gap.
    "CREATE TABLE lost_ranges(room TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL,"
    "  at INTEGER NOT NULL, PRIMARY KEY(room, from_seq)) WITHOUT ROWID;",
};
constexpr int kLatest = static_cast<int>(std::size(kMigrations));

std::string utc_stamp() {
    using namespace std::chrono;
    sys_time<milliseconds> t{milliseconds(platform::wall_ms())};
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss hms{floor<seconds>(t - day)};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

// "ok", or the first problem quick_check names, or the SQLite error that stopped it.
bool quick_check(Db& db, std::string& problem, int& rc) {
    rc = SQLITE_OK;
    Stmt* s = db.cached("PRAGMA quick_check(1)");
    if (!s) {
        rc = db.last_rc();
        problem = db.last_error();
        return false;
    }
    Query q(*s);
    if (!q.step()) {
        rc = q.rc();
        problem = db.last_error();
        return false;
    }
    problem = q.text(0);
    return problem == "ok";
}

Done fail(const std::string& what, Db& db) { return Done::fail(Status::unavailable, what + ": " + db.last_error()); }

Done apply_pragmas(Db& db, bool synchronous_full) {
    // auto_vacuum only takes effect on a file with no tables yet, which is exactly when we want it.
    if (db.exec("PRAGMA auto_vacuum=INCREMENTAL") != SQLITE_OK) return fail("auto_vacuum", db);
    int rc = 0;
    Stmt* s = db.cached("PRAGMA journal_mode=WAL");
    if (!s) return fail("journal_mode", db);
    {
        Query q(*s);
        if (!q.step() || q.text(0) != "wal") return fail("journal_mode=WAL refused", db);
    }
    const char* sync = synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    rc = db.exec(sync);
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA busy_timeout=5000");
    // SD cards: keep the WAL small after checkpoints, checkpoint about every 4 MiB of frames.
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA journal_size_limit=4194304");
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA wal_autocheckpoint=1000");
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA temp_store=MEMORY");
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA cache_size=-4096");
    if (rc != SQLITE_OK) return fail("pragmas", db);
    return done();
}

Done migrate(Db& db) {
    int rc = 0;
    int64_t version = db.query_int("PRAGMA user_version", rc);
    if (rc != SQLITE_OK) return fail("user_version", db);
    if (version > kLatest) {
        return Done::fail(Status::unavailable, "database schema " + std::to_string(version) +
                                                   " is newer than this build's " + std::to_string(kLatest));
    }
    for (int64_t v = version; v < kLatest; ++v) {
        std::string sql = "BEGIN IMMEDIATE;" + std::string(kMigrations[v]) +
                          ";PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
        if (db.exec(sql.c_str()) != SQLITE_OK) {
            Done r = fail("migration " + std::to_string(v + 1), db);
            if (db.in_transaction()) (void)db.exec("ROLLBACK");
            return r;
        }
        OUTPOST_LOG(info, "store_migrated", "schema=%lld", static_cast<long long>(v + 1));
    }
    return done();
}

// Opens path and checks it; a corrupt file is quarantined and replaced by a fresh one.
Done open_checked(Db& db, const std::string& path) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (db.open(path, flags) != SQLITE_OK) return fail("open " + path, db);
    std::string problem;
    int rc = 0;
    if (quick_check(db, problem, rc)) return done();
    if (rc != SQLITE_OK && fault_of(rc) != Fault::corrupt) return fail("quick_check", db);
    db.close();
    std::string moved = quarantine(path);
    OUTPOST_LOG(error, "store_corrupt_quarantined", "path=%s moved_to=%s problem=\"%s\"", path.c_str(),
                moved.empty() ? "(rename failed)" : moved.c_str(), problem.c_str());
    if (moved.empty()) {
        return Done::fail(Status::unavailable, "database corrupt and could not be moved aside: " + problem);
    }
    if (db.open(path, flags) != SQLITE_OK) return fail("open fresh " + path, db);
    return done();
}

} // namespace

int schema_version_latest() { return kLatest; }

std::string quarantine(const std::string& path) {
    std::string base = path + ".corrupt-" + utc_stamp();
    // Never rename onto an earlier quarantine from the same second.
    for (int n = 2; platform::file_exists(base); ++n) base = path + ".corrupt-" + utc_stamp() + "-" + std::to_string(n);
    std::error_code ec;
    std::filesystem::rename(path, base, ec);
    if (ec) return "";
    for (const char* suffix : {"-wal", "-shm"}) {
        std::error_code e2;
        if (std::filesystem::exists(path + suffix, e2)) std::filesystem::rename(path + suffix, base + suffix, e2);
    }
    return base;
}

Done open_writer(Db& db, const std::string& path, bool synchronous_full) {
    Done r = open_checked(db, path);
    if (r.ok()) r = apply_pragmas(db, synchronous_full);
    if (r.ok()) r = migrate(db);
    return r;
}

Done open_reader(Db& db, const std::string& path) {
    if (db.open(path, SQLITE_OPEN_READWRITE) != SQLITE_OK) return fail("open reader " + path, db);
    int rc = db.exec("PRAGMA query_only=ON");
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA busy_timeout=2000");
    if (rc == SQLITE_OK) rc = db.exec("PRAGMA cache_size=-2048");
    if (rc != SQLITE_OK) return fail("reader pragmas", db);
    return done();
}

} // namespace outpost::store
